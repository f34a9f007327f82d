#!/usr/bin/env python3
"""Relative links between the project's Markdown files lead somewhere: the
file exists and, for a #fragment, a heading of that file makes that anchor
(GitHub's rule: lower case, punctuation dropped, spaces to hyphens)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path, cache={}):
    if path not in cache:
        found, fence = set(), False
        for line in open(path, encoding="utf-8"):
            if line.startswith("```"):
                fence = not fence
            elif not fence and line.startswith("#"):
                text = line.strip().lstrip("#").strip().lower()
                text = "".join(c for c in text if c.isalnum() or c in " -_")
                found.add(text.replace(" ", "-"))
        cache[path] = found
    return cache[path]


def markdown_files():
    for top in ["README.md", "docs", "deploy", "docker", "man"]:
        top = os.path.join(ROOT, top)
        if top.endswith(".md"):
            yield top
            continue
        for d, _, files in os.walk(top):
            yield from (os.path.join(d, f) for f in files if f.endswith(".md"))


bad = 0
for md in markdown_files():
    fence = False
    for n, line in enumerate(open(md, encoding="utf-8"), 1):
        if line.startswith("```"):
            fence = not fence
        if fence:
            continue
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(md), file)) if file else md
            rel = os.path.relpath(md, ROOT)
            if not os.path.exists(dest):
                print(f"FAIL - {rel}:{n}: {target}: no such file")
                bad += 1
            elif frag and dest.endswith(".md") and frag not in anchors(dest):
                print(f"FAIL - {rel}:{n}: {target}: no such heading")
                bad += 1
if bad:
    sys.exit(1)
print("ok - every relative Markdown link leads to a file and heading")
