#!/usr/bin/env python3
"""Flags a program's --help names, or a man page's OPTIONS list documents,
sorted, one a line (tests/integration/test_man.sh compares the two).
  flags.py help < HELP_TEXT     option lines (a flag first) and usage lines
  flags.py man  < MDOC_PAGE     every Fl of an .It line (the tag lists)"""
import re
import sys

FLAG = re.compile(r"(?:^|(?<=[\s\[,(]))(--?[A-Za-z][A-Za-z0-9-]*)")


def from_help(text):
    found = set()
    for line in text.splitlines():
        if line.startswith("usage:") or re.match(r"\s+\[", line):
            found.update(FLAG.findall(line))  # the synopsis: flags only
        elif re.match(r"\s*-", line):
            # "  -k, --psk-key KEY   text": the flags before the description
            found.update(FLAG.findall(re.split(r"(?<=\S)\s{2,}", line.strip(), 1)[0]))
    return found


def from_man(text):
    found = set()
    for line in text.splitlines():
        if line.startswith(".It "):
            found.update("-" + f for f in re.findall(r"\bFl (-?[A-Za-z][A-Za-z0-9-]*)", line))
    return found


flags = from_help(sys.stdin.read()) if sys.argv[1] == "help" else from_man(sys.stdin.read())
print("\n".join(sorted(flags)))
