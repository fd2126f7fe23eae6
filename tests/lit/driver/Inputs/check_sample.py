"""Exits 0 when FILE holds LENGTH generated characters (plus at most the
final newline) drawn only from the names vocabulary: letters, '-', newline."""
import re
import sys

text = open(sys.argv[1]).read()
length = int(sys.argv[2])
ok = len(text) in (length, length + 1) and re.fullmatch(r"[A-Za-z\n-]+", text) is not None
if not ok:
    print(f"unexpected sample ({len(text)} characters): {text!r}")
sys.exit(0 if ok else 1)
