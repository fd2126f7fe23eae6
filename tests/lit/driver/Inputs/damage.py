#!/usr/bin/env python3
"""damage.py SRC DST truncate N | flip OFFSET: copies SRC to DST, keeping only
its first N bytes, or with the byte at OFFSET (negative: from the end) flipped."""
import sys

src, dst, how, arg = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = bytearray(open(src, "rb").read())
if how == "truncate":
    data = data[:arg]
else:
    data[arg] ^= 0x01
open(dst, "wb").write(bytes(data))
