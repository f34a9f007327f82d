#!/usr/bin/env python3
"""Writes the KEYS section of man/coapgw.json.5 from docs/configuration.md's
table of keys, so that the manual and the documentation are one source.
  python3 man/gen_keys.py          rewrite man/coapgw.json.5 in place
  python3 man/gen_keys.py --check  exit 1 if the file is not up to date
The section lies between the lines ".\\" BEGIN KEYS" and ".\\" END KEYS"."""
import os
import re
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = '.\\" BEGIN KEYS', '.\\" END KEYS'


def roff(text):
    """Markdown table cell to mdoc text: links to their text, no backticks."""
    text = text.replace("\\|", "|").replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = text.replace("`", "")
    for a, b in (("–", "\\(en"), ("−", "\\-"), ("…", "..."), ("⇄", "<->")):
        text = text.replace(a, b)
    return text


def rows():
    table = open(os.path.join(SRC, "docs/configuration.md"), encoding="utf-8").read()
    start = table.index("| Key | Environment | Flag | Default | Meaning |")
    for line in table[start:].splitlines()[2:]:
        if not line.startswith("|"):
            return
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        yield [roff(c) for c in cells]


def section():
    out = [BEGIN, ".Bl -tag -width Ds"]
    for key, env, flag, default, meaning in rows():
        out.append(".It Cm " + key)
        out.append("Default: " + default + ".")
        out.append("Environment: " + env + (", flag: " + flag if flag else "") + ".")
        out.append(".Pp")
        # one sentence a line, as mdoc wants; never a line starting with a dot
        for sentence in re.split(r"(?<=[.:;]) (?=[A-Z(])", meaning):
            out.append(("\\&" if sentence[:1] in ".'" else "") + sentence)
    out += [".El", END]
    return "\n".join(out) + "\n"


def main():
    path = os.path.join(SRC, "man/coapgw.json.5")
    page = open(path, encoding="utf-8").read()
    head, rest = page.split(BEGIN + "\n", 1)
    tail = rest.split(END + "\n", 1)[1]
    new = head + section() + tail
    if "--check" in sys.argv[1:]:
        if new != page:
            sys.exit("man/coapgw.json.5 is out of date: run python3 man/gen_keys.py")
        return
    open(path, "w", encoding="utf-8").write(new)


main()
