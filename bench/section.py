#!/usr/bin/env python3
"""Replace (or append) one `## ` section of BENCHMARKS.md with the Markdown
read from stdin, whose first line is the section's heading.
Usage: ... | bench/section.py"""
import pathlib
import re
import sys

section = sys.stdin.read().strip() + "\n"
title = section.splitlines()[0].split("(")[0].strip()
path = pathlib.Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
text = path.read_text()
pattern = re.compile(re.escape(title) + r".*?(?=\n## |\Z)", re.S)
text = pattern.sub(lambda _: section, text, count=1) if pattern.search(text) else text.rstrip() + "\n\n" + section
path.write_text(text)
