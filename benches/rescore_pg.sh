#!/bin/sh
# The distributed rescore bench on PostgreSQL: a store of N messages (default 1,000,000)
# written by gen_store into schema SCHEMA of the test database, then dry runs in one
# process and with one and with two `sendguard worker`s, each RUNS times (default 2), and
# `sendguard report --url` timed. Needs PostgreSQL at 127.0.0.1:5432 and NATS at
# 127.0.0.1:4222 (scripts/start-services). Run from the repository root:
#   benches/rescore_pg.sh [SCHEMA] [N] [SLED_DIR]
# With SLED_DIR (a sled store from `gen_store --out SLED_DIR`, the same N), the sled
# path's rescore runs in the same session as the baseline, and every PostgreSQL median is
# also given as a ratio to it (the machine is shared: only same-session ratios compare).
# BASELINE_BIN=path/to/another/sendguard adds one-process runs of that build (before and
# after a change); SKIP_BUILD=1 uses the binary already in the target directory.
set -eu
schema=${1:-sgbench_batch}
n=${2:-1000000}
sled=${3:-}
runs=${RUNS:-2}
target=${CARGO_TARGET_DIR:-target}
server="postgres://postgres@127.0.0.1:5432/test"
url="$server?options=-c%20search_path%3D$schema"
bin="$target/release/sendguard"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin sendguard
if ! psql "$server" -tAc "SELECT 1 FROM pg_namespace WHERE nspname = '$schema'" | grep -q 1; then
    psql "$server" -qc "CREATE SCHEMA $schema"
    cargo bench --quiet --bench gen_store -- --url "$url" --messages "$n"
    psql "$url" -qc "VACUUM ANALYZE"
fi
prefix="sgbench_$$"
rate() { python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["processed"], round(r["msgs_per_sec"]), round(r["elapsed_secs"], 1))'; }
median() { printf '%s\n' "$@" | sort -n | python3 -c 'import statistics,sys; print(round(statistics.median(int(l) for l in sys.stdin)))'; }
# Runs "$@" RUNS times; prints each run and sets $last to the median messages/s.
measure() {
    label=$1
    shift
    rates=""
    for run in $(seq "$runs"); do
        line=$("$@" | rate)
        echo "$label, run $run: $line (messages, messages/s, s)"
        rates="$rates $(echo "$line" | cut -d' ' -f2)"
    done
    last=$(median $rates)
    echo "$label: median $last messages/s"
}
distributed() {
    workers=$1
    pids=""
    for w in $(seq "$workers"); do
        # Workers on one machine split its cores (at least one thread each).
        threads=$(( $(nproc) / workers ))
        [ "$threads" -ge 1 ] || threads=1
        "$bin" worker --url "$url" --prefix "$prefix" --name "w$w" --idle-exit-secs 600 \
            --threads "$threads" 2>/dev/null &
        pids="$pids $!"
    done
    "$bin" rescore --url "$url" --distributed --prefix "$prefix" --json 2>/dev/null
    kill $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
}
ratio() { [ -n "$sled" ] && echo "  = $(python3 -c "print(round($1 / $sled_rate, 2))") x the sled path" || true; }

if [ -n "$sled" ]; then
    measure "sled (rescore --data)" "$bin" rescore --data "$sled" --json
    sled_rate=$last
fi
if [ -n "${BASELINE_BIN:-}" ]; then
    measure "baseline build, one process (rescore --url)" "$BASELINE_BIN" rescore --url "$url" --json
    ratio "$last"
fi
measure "one process (rescore --url)" "$bin" rescore --url "$url" --json
ratio "$last"
for workers in 1 2; do
    measure "$workers worker(s) (rescore --distributed)" distributed "$workers"
    ratio "$last"
done
start=$(date +%s.%N)
"$bin" report --url "$url" --format json --out /tmp/sgbench_report.json 2>/dev/null
echo "report --url: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
# The work-queue and results streams of this run's prefix (a coordinator keeps them for a
# resume; a bench has nothing to resume). No nats CLI needed: JetStream's API over the wire.
python3 - "$(echo "$prefix" | tr 'a-z' 'A-Z')" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 4222))
f = s.makefile("rb")
f.readline()
s.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.bench 1\r\n')
for kind in ("TASKS", "RESULTS"):
    s.sendall(f"PUB $JS.API.STREAM.DELETE.{sys.argv[1]}_RESCORE_{kind} _INBOX.bench 0\r\n\r\n".encode())
    while not f.readline().startswith(b"MSG"):
        pass
    f.readline()
PY
