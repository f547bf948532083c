#!/usr/bin/env python3
"""5-fold cross-validation of `sendguard train` options on one labelled TSV, with the
scikit-learn peers on the same folds: how the defaults were chosen (models/MODEL.md,
"Defaults"). Choose options on a training part only; score held-out data once, after.

usage: benches/cv_options.py SENDGUARD_BIN TSV [--peers] [-- TRAIN OPTIONS...]

Folds by a salted SHA-256 of the text (identical texts share a fold); counts pooled over
the folds; the decision is `eval`'s default (spam is the likelier class). --peers also
runs ../shared/peers/sklearn_baseline.py on the same folds (needs scikit-learn).
"""
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

FOLDS = 5
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                    "peers", "sklearn_baseline.py")


def fold_of(row):
    text = row.split("\t", 2)[1]
    return int(hashlib.sha256(("cv-salt:" + text).encode()).hexdigest()[:8], 16) % FOLDS


def mcc(tp, fp, tn, fn):
    return (tp * tn - fp * fn) / math.sqrt(max((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn), 1))


def mcc_line(name, t):
    tp, fp, tn, fn = t["tp"], t["fp"], t["tn"], t["fn"]
    return f"{name:50} MCC {mcc(tp, fp, tn, fn):.4f} FPR {fp / max(fp + tn, 1) * 100:.2f}% ({fp}) FN {fn}"


def main():
    args = sys.argv[1:]
    options = args[args.index("--") + 1:] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    peers = "--peers" in args
    binary, tsv = [a for a in args if a != "--peers"]
    # Split on LF only: some texts hold characters str.splitlines treats as line breaks.
    rows = [r for r in open(tsv, encoding="utf-8").read().split("\n") if r]
    if rows[0].startswith("label\t"):
        rows = rows[1:]
    totals = {}
    with tempfile.TemporaryDirectory() as work:
        for k in range(FOLDS):
            train, test = os.path.join(work, "train.tsv"), os.path.join(work, "test.tsv")
            with open(train, "w", encoding="utf-8") as out:
                out.write("".join("\t".join(r.split("\t")[:2]) + "\n" for r in rows if fold_of(r) != k))
            with open(test, "w", encoding="utf-8") as out:
                out.write("".join("\t".join(r.split("\t")[:2]) + "\n" for r in rows if fold_of(r) == k))
            model = os.path.join(work, "model.sgnb")
            subprocess.run([binary, "train", "--data", train, "--out", model, *options],
                           check=True, capture_output=True)
            report = subprocess.run([binary, "eval", "--model", model, "--data", test, "--json"],
                                    check=True, capture_output=True, text=True).stdout
            runs = [("sendguard " + (" ".join(options) or "defaults"), json.loads(report))]
            if peers:
                out = subprocess.run([sys.executable, PEER, train, test, "--json"],
                                     check=True, capture_output=True, text=True).stdout
                runs += [(json.loads(line)["model"], json.loads(line)) for line in out.splitlines()]
            for name, figures in runs:
                total = totals.setdefault(name, dict(tp=0, fp=0, tn=0, fn=0))
                for key in total:
                    total[key] += figures[key]
    for name, total in totals.items():
        print(mcc_line(name, total))


if __name__ == "__main__":
    main()
