#!/usr/bin/env bash
# Should a new round of training data go in? Judge it on writers the model has not met.
#
#   benches/writer_check.sh WRITER.tsv WRITER.tsv [WRITER.tsv...]
#
# Each file is one writer's rows (the training file's columns). For each writer in turn,
# the shipped model's command is trained on today's training data plus the OTHER writers'
# files, and that model and the built-in one both run the whole pipeline on this writer's
# file. A round that helps lifts the spam held on every writer it did not see, at the same
# ham held; how rounds 18 to 20 were chosen (models/MODEL.md, "English from new writers").
# Needs: the SpamAssassin cache (datasets/fetch_spamassassin.sh); a release build (made if
# missing). Prints, per writer: plain spam held, obfuscated held, ham held, before and
# after, and the totals.
set -euo pipefail

if (($# < 2)); then
    echo "usage: benches/writer_check.sh WRITER.tsv WRITER.tsv [WRITER.tsv...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/datasets"
bin="$here/target/release/sendguard"
if [[ ! -f $data/cache/spamassassin.tsv ]]; then
    echo "writer_check.sh: run datasets/fetch_spamassassin.sh first" >&2
    exit 2
fi
for file in "$@"; do
    [[ -f $file ]] || { echo "writer_check.sh: $file: no such file" >&2; exit 2; }
done
# shellcheck source=benches/shipped_recipe.sh
source "$here/benches/shipped_recipe.sh"
train_options=()
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"

# One line of figures from `eval --by summary --json`: plain held, plain, obfuscated
# held, obfuscated, ham held, ham.
figures() {
    "$bin" eval "$@" --by summary --json 2>/dev/null | python3 -c '
import json, sys
o = json.load(sys.stdin)["overview"]
print(o["spam_plain_held"], o["spam_plain"], o["spam_obfuscated_held"],
      o["spam_obfuscated"], o["ham_held"], o["ham"])'
}

for held_out in "$@"; do
    others=()
    for file in "$@"; do
        [[ $file == "$held_out" ]] || others+=("$file")
    done
    head -n 1 "${others[0]}" >"$work/others.tsv"
    for file in "${others[@]}"; do
        tail -n +2 "$file" >>"$work/others.tsv"
    done
    train_like_shipped "$work/model.sgnb" "$data/multilingual/train.tsv" "$work/others.tsv" \
        >"$work/train.log" 2>&1 || { cat "$work/train.log" >&2; exit 1; }
    echo "$held_out $(figures --data "$held_out") $(figures --model "$work/model.sgnb" --data "$held_out")"
done >"$work/figures.txt"

python3 - "$work/figures.txt" <<'PY'
import sys
def pct(a, b):
    return f"{100 * a / b:5.1f}" if b else "  -  "
def row(name, n):
    return (f"{name[-40:]:40} {pct(n[0], n[1])} → {pct(n[6], n[7])} {pct(n[2], n[3])} → "
            f"{pct(n[8], n[9])} {n[4]:>4} → {n[10]:<4}")
total = [0] * 12
print(f"{'writer':40} {'plain held %':^13} {'obfuscated %':^13} {'ham held':^11}")
for line in open(sys.argv[1]):
    name, *numbers = line.split()
    n = list(map(int, numbers))
    total = [t + x for t, x in zip(total, n)]
    print(row(name, n))
print(row("all writers", total) + f" (of {total[1]} plain spam, {total[3]} obfuscated, {total[5]} ham)")
PY
