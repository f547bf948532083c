#!/usr/bin/env bash
# The classifier against the scikit-learn peer on the SpamAssassin split, in one run.
#
#   benches/peer_compare.sh SPLIT_DIR [ROUNDS]
#
# SPLIT_DIR holds train.tsv and test.tsv from ../shared/peers/spamassassin_split.py.
# Trains sendguard with default options, then for each round runs, back to back, the
# peer script (MultinomialNB and LinearSVC, single-threaded) and `sendguard eval` on one
# thread and on every core. Prints MCC and msgs/sec per round, then the medians and the
# throughput ratios against MultinomialNB of the same rounds: this machine is shared, so
# only ratios measured side by side mean anything.
# Needs: python3 with scikit-learn and threadpoolctl; a release build (made if missing).
set -euo pipefail

split=${1:?usage: benches/peer_compare.sh SPLIT_DIR [ROUNDS]}
rounds=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
peer="$here/../shared/peers/sklearn_baseline.py"
bin="$here/target/release/sendguard"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
"$bin" train --data "$split/train.tsv" --out "$work/model.sgnb" >&2

for round in $(seq "$rounds"); do
    python3 "$peer" "$split/train.tsv" "$split/test.tsv" --json >"$work/peer.$round.json"
    "$bin" eval --model "$work/model.sgnb" --data "$split/test.tsv" --json \
        >"$work/one.$round.json"
    "$bin" eval --model "$work/model.sgnb" --data "$split/test.tsv" --threads 0 --json \
        >"$work/all.$round.json"
done

python3 - "$work" "$rounds" <<'EOF'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for r in range(1, rounds + 1):
    for line in open(f"{work}/peer.{r}.json"):
        d = json.loads(line)
        name = "MultinomialNB" if "Multinomial" in d["model"] else "LinearSVC"
        rows.setdefault(name, []).append(d)
    for tag in ("one", "all"):
        d = json.load(open(f"{work}/{tag}.{r}.json"))
        rows.setdefault(f"sendguard, {d['threads']} thread(s)", []).append(d)
base = [d["msgs_per_sec"] for d in rows["MultinomialNB"]]
print(f"{'model':28} {'MCC':>7} {'msgs/sec per round':>30} {'median':>8} {'vs MNB':>7}")
for name, ds in rows.items():
    speeds = [d["msgs_per_sec"] for d in ds]
    ratios = [s / b for s, b in zip(speeds, base)]
    print(f"{name:28} {ds[0]['mcc']:7.4f} {' '.join(f'{s:9,.0f}' for s in speeds):>30} "
          f"{statistics.median(speeds):8,.0f} {statistics.median(ratios):6.2f}x")
EOF
