#!/bin/sh
# The rescore bench: a store of N messages (default 1,000,000), then three dry runs.
# Prints each run's msgs_per_sec and the median. Run from the repository root:
#   benches/rescore.sh [/tmp/sg-bench] [1000000]
set -eu
dir=${1:-/tmp/sg-bench}
n=${2:-1000000}
cargo build --release --quiet
if [ ! -d "$dir" ]; then
    cargo bench --quiet --bench gen_store -- --out "$dir" --messages "$n"
fi
rates=""
for run in 1 2 3; do
    rate=$(./target/release/sendguard rescore --data "$dir" --json \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); print(round(r["msgs_per_sec"]))')
    echo "run $run: $rate msgs/sec"
    rates="$rates $rate"
done
echo "median: $(printf '%s\n' $rates | sort -n | sed -n 2p) msgs/sec"
