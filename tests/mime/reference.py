#!/usr/bin/env python3
"""Reference decoder for tests/mime_corpus.rs: Python's `email` package.

Usage: reference.py FILE...

For every file prints `== FILE`, then in walk order one line per Subject or
From header (`header DEPTH subject|from HEX`) and one per MIME entity:
`part DEPTH TYPE CHARSET DISPOSITION FILENAME_HEX LEAF BODY_HEX`, `-` for
an absent value. Bodies are `get_payload(decode=True)` of leaf parts;
texts are UTF-8, hex-encoded. Standard library only.
"""
import sys
from email import policy
from email.parser import BytesParser


def hx(s):
    if s is None:
        return "-"
    if isinstance(s, str):
        s = s.encode("utf-8")
    return s.hex() or "="


def walk(part, depth, out):
    for name, value in part.items():
        if name.lower() in ("subject", "from"):
            out.append("header %d %s %s" % (depth, name.lower(), hx(str(value))))
    leaf = not part.is_multipart()
    body = hx(part.get_payload(decode=True)) if leaf else "-"
    out.append("part %d %s %s %s %s %d %s" % (
        depth, part.get_content_type(), part.get_content_charset() or "-",
        part.get_content_disposition() or "-", hx(part.get_filename()),
        int(leaf), body))
    if not leaf:
        for sub in part.get_payload():
            walk(sub, depth + 1, out)


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        out = ["== " + path]
        walk(BytesParser(policy=policy.default).parsebytes(data), 0, out)
        print("\n".join(out))


if __name__ == "__main__":
    main()
