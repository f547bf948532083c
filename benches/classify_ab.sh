#!/usr/bin/env bash
# Two builds of `sendguard classify` over the same files, alternating, in one command: the
# way to compare a change to the send path's content checks on this shared machine.
#
#   benches/classify_ab.sh OLD_BIN NEW_BIN ROUNDS FILE.tsv...
#
# Each round runs OLD then NEW over every FILE (built-in model and rules, `--json`), in
# alternating order from round to round. Prints, per file, each build's median messages per
# second and peak memory, and the median of the per-round ratios NEW/OLD; and fails if the
# two builds' verdicts differ on any file (a speed change must not change a decision).
set -euo pipefail

old=${1:?usage: benches/classify_ab.sh OLD_BIN NEW_BIN ROUNDS FILE.tsv...}
new=${2:?usage: benches/classify_ab.sh OLD_BIN NEW_BIN ROUNDS FILE.tsv...}
rounds=${3:?usage: benches/classify_ab.sh OLD_BIN NEW_BIN ROUNDS FILE.tsv...}
shift 3
(($# > 0)) || { echo "classify_ab.sh: name at least one FILE.tsv" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { # build tag file index round
    /usr/bin/time -f "%e %M" -o "$work/$2.$4.$5.time" "$1" classify --json <"$3" >"$work/$2.$4.out"
}
for round in $(seq "$rounds"); do
    i=0
    for file in "$@"; do
        i=$((i + 1))
        if ((round % 2)); then
            run "$old" old "$file" "$i" "$round"
            run "$new" new "$file" "$i" "$round"
        else
            run "$new" new "$file" "$i" "$round"
            run "$old" old "$file" "$i" "$round"
        fi
    done
done
i=0
for file in "$@"; do
    i=$((i + 1))
    cmp -s "$work/old.$i.out" "$work/new.$i.out" || { echo "classify_ab.sh: verdicts differ on $file" >&2; exit 1; }
done

python3 - "$work" "$rounds" "$@" <<'PY'
import statistics, sys
work, rounds, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(f"{'file':32} {'msgs':>6} {'old msgs/s':>11} {'new msgs/s':>11} {'new/old':>8} {'old MiB':>8} {'new MiB':>8}")
for i, path in enumerate(files, 1):
    msgs = sum(1 for _ in open(f"{work}/new.{i}.out"))
    def load(tag):
        runs = [open(f"{work}/{tag}.{i}.{r}.time").read().split() for r in range(1, rounds + 1)]
        return [msgs / max(float(t), 1e-9) for t, _ in runs], [int(m) / 1024 for _, m in runs]
    (old, old_mem), (new, new_mem) = load("old"), load("new")
    ratio = statistics.median(n / o for n, o in zip(new, old))
    print(f"{path.split('/')[-1]:32} {msgs:6} {statistics.median(old):11,.0f} {statistics.median(new):11,.0f} "
          f"{ratio:7.2f}x {statistics.median(old_mem):8.0f} {statistics.median(new_mem):8.0f}")
print("verdicts identical on every file")
PY
