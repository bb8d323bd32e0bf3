#!/usr/bin/env bash
# Benchmark: `ir timeline` against `find -newermt/-newerct ... -printf`, in one run.
#
#   scripts/bench-timeline.sh [FILES]      (default 200000)
#
# Generates a tree of FILES files (a tenth of them recent, the rest dated a
# month back with touch -d), warms the dentry cache, then times
#   find ROOT \( -newermt SINCE -o -newerct SINCE \) -printf '%T@ %C@ %s %m %U %p\n'
#   ir timeline --since 24h --format bodyfile ROOT
# (both report mtime/ctime matches, with times, size, mode and owner), best of
# three each, and prints the ratio ir/find.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
work="${BENCH_DIR:-/tmp/ir-bench-timeline}"
cargo build --release -q
ir="$PWD/target/release/ir"
rm -rf "$work" && mkdir -p "$work/root"
python3 - "$work/root" "$n" <<'PY'
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 30 * 86400
per_dir = 500
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // per_dir))
    if i % per_dir == 0:
        os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%07d%s" % (i, ".jsonl" if i % 3 else ".md"))
    with open(p, "w") as f:
        f.write("x" * (i % 100))
    if i % 10:
        os.utime(p, (old, old))
PY
since=$(date -u -d '24 hours ago' '+%Y-%m-%d %H:%M:%S')
find "$work/root" > /dev/null
best() { # best wall time of three runs of "$@"
  local b=999999
  for _ in 1 2 3; do
    local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $t1 - $t0))")
  done
  echo "$b"
}
tf=$(best find "$work/root" \( -newermt "$since" -o -newerct "$since" \) -printf '%T@ %C@ %s %m %U %p\n')
ti=$(best "$ir" -q --case "$work/case" timeline --since 24h --format bodyfile "$work/root")
nf=$(find "$work/root" \( -newermt "$since" -o -newerct "$since" \) | wc -l)
ni=$("$ir" -q --case "$work/case" timeline --since 24h --format bodyfile "$work/root" | wc -l)
python3 - "$tf" "$ti" "$n" "$nf" "$ni" <<'PY'
import sys, os
tf, ti, n, nf, ni = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
print(f"bench: {n} files, {os.cpu_count()} cores; find reports {nf} paths, ir {ni}")
print(f"bench: find {tf:.3f} s, ir timeline {ti:.3f} s (best of 3)")
print(f"bench: ratio ir/find = {ti / tf:.3f}")
PY
