#!/usr/bin/env python3
"""Validate sendguard TSV files.

Usage: python3 check.py [FILE ...]
With no FILE, checks messages.tsv, train.tsv and test.tsv beside this script,
and also that train and test are disjoint and together equal messages.tsv.

Every file must:
  * be UTF-8, with LF line ends (no raw CR anywhere);
  * start with a header line whose first two columns are `label`, `text`;
  * have on every other line at least 2 tab-separated columns, label `spam` or
    `ham`, a non-empty text, and only valid escapes in the text (a backslash is
    followed by one of n, r, t or backslash);
  * if its header names a third column `category`, have exactly 3 columns on
    every line (so a raw tab inside a text is caught) and a known category
    that matches the label;
  * if it has the category column (the hand-written corpus), contain no text
    twice; other files (e.g. the SpamAssassin conversion, whose corpus has
    repeated messages) only get a note with the number of repeats.
Every problem is reported as FILE:LINE: message; the exit code is 1 if any.
Python 3.11, standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

HAM_CATEGORIES = {
    "recruiter_outreach", "networking", "colleague_chat", "congratulations",
    "referral", "event_invite", "b2b_inquiry", "hard_ham",
}
SPAM_CATEGORIES = {
    "advertising_blast", "phishing", "fake_job_fee", "crypto_investment",
    "romance_scam", "gift_card_scam", "loan_offer", "mlm", "adult",
    "harassment", "contact_harvesting", "obfuscated",
}
ESCAPE = re.compile(r"\\(.?)", re.S)  # a backslash and the character after it


def check_file(path: Path, errors: list[str]) -> list[tuple[str, ...]]:
    """Check one file; return its data rows (as tuples) for cross-file checks."""
    def err(line: int, msg: str) -> None:
        errors.append(f"{path}:{line}: {msg}")

    try:
        data = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        err(0, f"cannot read as UTF-8: {e}")
        return []
    if "\r" in data:
        err(0, "contains a raw CR (must be written as \\r)")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        err(len(lines), "last line does not end with a newline")
    if not lines:
        err(1, "empty file")
        return []
    header = lines[0].split("\t")
    if header[:2] != ["label", "text"]:
        err(1, f"header must start with 'label<TAB>text', got {lines[0][:60]!r}")
        return []
    has_category = len(header) >= 3 and header[2] == "category"

    rows: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    duplicates = 0
    for n, line in enumerate(lines[1:], start=2):
        cols = line.split("\t")
        if len(cols) < 2:
            err(n, "fewer than 2 tab-separated columns")
            continue
        label, text = cols[0], cols[1]
        if label not in ("spam", "ham"):
            err(n, f"label must be spam or ham, got {label!r}")
        if not text.strip():
            err(n, "empty text")
        for m in ESCAPE.finditer(text):
            if m.group(1) not in ("n", "r", "t", "\\"):
                err(n, f"invalid escape at text offset {m.start()}: {m.group(0)!r}")
                break
        if has_category:
            if len(cols) != 3:
                err(n, f"expected 3 columns, got {len(cols)} (raw tab inside the text?)")
                continue
            cat = cols[2]
            allowed = HAM_CATEGORIES if label == "ham" else SPAM_CATEGORIES
            if cat not in allowed:
                err(n, f"category {cat!r} is not a known {label} category")
        if text in seen:
            if has_category:
                err(n, f"duplicate text (first seen on line {seen[text]})")
            else:
                duplicates += 1
        else:
            seen[text] = n
        rows.append(tuple(cols))
    if duplicates:
        print(f"{path}: note: {duplicates} row(s) repeat an earlier text", file=sys.stderr)
    return rows


def main(argv: list[str]) -> int:
    errors: list[str] = []
    if argv:
        for name in argv:
            check_file(Path(name), errors)
    else:
        paths = {k: HERE / f"{k}.tsv" for k in ("messages", "train", "test")}
        rows = {k: check_file(p, errors) for k, p in paths.items()}
        train, test, allrows = (set(rows[k]) for k in ("train", "test", "messages"))
        if train & test:
            errors.append(f"train.tsv and test.tsv share {len(train & test)} rows")
        if train | test != allrows or len(rows["train"]) + len(rows["test"]) != len(rows["messages"]):
            errors.append("train.tsv + test.tsv differ from messages.tsv (re-run split.py)")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"FAILED: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print("ok: " + ", ".join(argv or ["messages.tsv", "train.tsv", "test.tsv"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
