#!/bin/sh
# The distributed rescore bench on PostgreSQL: a store of N messages (default 1,000,000)
# written by gen_store into schema SCHEMA of the test database, then dry runs with one and
# with two `sendguard worker`s, and `sendguard report --url` timed. Needs PostgreSQL at
# 127.0.0.1:5432 and NATS at 127.0.0.1:4222 (scripts/start-services). Run from the
# repository root:
#   benches/rescore_pg.sh [SCHEMA] [N]
set -eu
schema=${1:-sgbench_batch}
n=${2:-1000000}
target=${CARGO_TARGET_DIR:-target}
server="postgres://postgres@127.0.0.1:5432/test"
url="$server?options=-c%20search_path%3D$schema"
bin="$target/release/sendguard"
cargo build --release --quiet --bin sendguard
if ! psql "$server" -tAc "SELECT 1 FROM pg_namespace WHERE nspname = '$schema'" | grep -q 1; then
    psql "$server" -qc "CREATE SCHEMA $schema"
    cargo bench --quiet --bench gen_store -- --url "$url" --messages "$n"
    psql "$url" -qc "VACUUM ANALYZE"
fi
prefix="sgbench_$$"
rate() { python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["processed"], round(r["msgs_per_sec"]), round(r["elapsed_secs"], 1))'; }

echo "one process (rescore --url): $("$bin" rescore --url "$url" --json | rate)"
for workers in 1 2; do
    pids=""
    for w in $(seq "$workers"); do
        "$bin" worker --url "$url" --prefix "$prefix" --name "w$w" --idle-exit-secs 600 2>/dev/null &
        pids="$pids $!"
    done
    echo "$workers worker(s): $("$bin" rescore --url "$url" --distributed --prefix "$prefix" --json | rate)"
    kill $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
done
start=$(date +%s.%N)
"$bin" report --url "$url" --format json --out /tmp/sgbench_report.json 2>/dev/null
echo "report --url: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
