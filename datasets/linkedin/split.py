#!/usr/bin/env python3
"""Split linkedin/messages.tsv into train.tsv and test.tsv (about 80/20).

Usage: python3 split.py [--in messages.tsv] [--train train.tsv] [--test test.tsv]
(paths default to the files beside this script).

The split is deterministic and stratified by category:
  * rows are grouped by their `category` column;
  * inside a group they are ranked by sha256 of the UTF-8 escaped text
    (ties, which cannot happen for distinct texts, would fall back to file order);
  * the first round(20% of the group) ranked rows go to test, the rest to train.
So a row's side depends only on its text and on its category's rows, never on
file order or on a random seed: running it again gives byte-identical outputs.
Both outputs keep the header line `label<TAB>text<TAB>category` and the input's
row order. Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_FRACTION = 0.2
HEADER = "label\ttext\tcategory"


def read_rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != HEADER:
        sys.exit(f"{path}:1: expected header {HEADER!r}")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        cols = line.split("\t")
        if len(cols) != 3 or cols[0] not in ("spam", "ham") or not cols[1] or not cols[2]:
            sys.exit(f"{path}:{n}: expected 'spam|ham<TAB>text<TAB>category'")
        rows.append(cols)
    return rows


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split(rows: list[list[str]]) -> tuple[set[int], set[int]]:
    by_cat: dict[str, list[int]] = {}
    for i, (_, _, cat) in enumerate(rows):
        by_cat.setdefault(cat, []).append(i)
    test: set[int] = set()
    for idxs in by_cat.values():
        ranked = sorted(idxs, key=lambda i: (text_hash(rows[i][1]), i))
        n_test = round(len(ranked) * TEST_FRACTION)
        test.update(ranked[:n_test])
    train = set(range(len(rows))) - test
    return train, test


def write(path: Path, rows: list[list[str]], keep: set[int]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n")
        for i, row in enumerate(rows):
            if i in keep:
                f.write("\t".join(row) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description="stratified, hash-based 80/20 split of messages.tsv")
    ap.add_argument("--in", dest="src", type=Path, default=HERE / "messages.tsv")
    ap.add_argument("--train", type=Path, default=HERE / "train.tsv")
    ap.add_argument("--test", type=Path, default=HERE / "test.tsv")
    args = ap.parse_args()

    rows = read_rows(args.src)
    train, test = split(rows)
    write(args.train, rows, train)
    write(args.test, rows, test)
    for name, keep in (("train", train), ("test", test)):
        spam = sum(1 for i in keep if rows[i][0] == "spam")
        print(f"{name}: {len(keep)} rows ({len(keep) - spam} ham, {spam} spam)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
