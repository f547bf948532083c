#!/usr/bin/env bash
# A writer-disjoint check of the shipped recipe: hold out one round of
# datasets/multilingual/train.tsv (a range of its lines, written by writers none of the
# other rounds had), train on everything else with the shipped model's command, and run
# the whole pipeline on the held-out round.
#
#   benches/heldout_round.sh FIRST_LINE LAST_LINE [TRAIN OPTIONS...]
#
# Rounds are appended in order, so each is a block of lines (models/MODEL.md lists them;
# line 1 is the header). Random cross-validation mixes every writer into every fold and
# flatters a model that learned its writers; a held-out round is what new members' traffic
# looks like to it. TRAIN OPTIONS replace the shipped options (`shipped_options` in
# benches/shipped_recipe.sh) to compare another recipe. RULES=DIR judges with the packs in DIR
# instead of the built-in ones. Needs: the SpamAssassin cache
# (datasets/fetch_spamassassin.sh); a release build (made if missing). Prints
# `eval --by summary` of the held-out round.
set -euo pipefail

first=${1:?usage: benches/heldout_round.sh FIRST_LINE LAST_LINE [TRAIN OPTIONS...]}
last=${2:?usage: benches/heldout_round.sh FIRST_LINE LAST_LINE [TRAIN OPTIONS...]}
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/datasets"
bin="$here/target/release/sendguard"
train="$data/multilingual/train.tsv"
total=$(wc -l <"$train")
if ! [[ $first =~ ^[0-9]+$ && $last =~ ^[0-9]+$ ]] || ((first < 2 || last < first || last > total)); then
    echo "heldout_round.sh: lines must satisfy 2 <= FIRST <= LAST <= $total (line 1 is the header)" >&2
    exit 2
fi
if [[ ! -f $data/cache/spamassassin.tsv ]]; then
    echo "heldout_round.sh: run datasets/fetch_spamassassin.sh first" >&2
    exit 2
fi
# shellcheck source=benches/shipped_recipe.sh
source "$here/benches/shipped_recipe.sh"
train_options=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
awk -v a="$first" -v b="$last" 'NR == 1 || NR < a || NR > b' "$train" >"$work/rest.tsv"
awk -v a="$first" -v b="$last" 'NR == 1 || (NR >= a && NR <= b)' "$train" >"$work/round.tsv"
train_like_shipped "$work/model.sgnb" "$work/rest.tsv" >&2
"$bin" eval --model "$work/model.sgnb" --data "$work/round.tsv" --by summary \
    ${RULES:+--rules "$RULES"}
