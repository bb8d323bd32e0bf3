#!/usr/bin/env bash
# Benchmark: how much of a corpus of real injection texts and dangerous
# commands `ir hunt` finds, and how much benign text and everyday commands it
# flags, beside the seed playbook's one-liner
#   grep -i "rm -rf\|ignore.*instruction\|system.*prompt"
# in the same run; then how fast it reads a large deployment.
#
#   scripts/bench-hunt.sh [CORPUS_DIR]     (default bench/corpus)
#   EVENTS=100000 scripts/bench-hunt.sh    (events of the speed run; 0 skips it)
#   BENCH_DIR=/tmp/x scripts/bench-hunt.sh (work dir, default /tmp/ir-bench-hunt;
#                                           misses.jsonl is written there)
#
# The corpus (bench/corpus/, sources and licences in its README: a tuned
# half and a held-out half split into dev and test) is planted
# into one OpenClaw session of each layout: a JSONL transcript, and SQLite
# transcript_events with every third event zstd-compressed. Texts are placed
# as a user message, a web_fetch result and a read result; commands as exec
# calls. No network is used.
#
# Speed: examples/bench_hunt_speed.rs plants EVENTS realistic events (user
# turns, assistant text and tool calls, file reads, command output, fetched
# pages; one in two hundred an injection) in sessions of a thousand, in
# both layouts, and `ir hunt` is timed on each with /usr/bin/time (wall,
# user and system CPU, peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-bench/corpus}"
work="${BENCH_DIR:-/tmp/ir-bench-hunt}"
events="${EVENTS:-100000}"
cargo build --release -q --bin ir --example bench_hunt --example bench_hunt_speed
ir="$PWD/target/release/ir"
target/release/examples/bench_hunt "$corpus" "$work" "$ir"
[ "$events" -gt 0 ] || exit 0
target/release/examples/bench_hunt_speed "$corpus" "$work/speed" "$events"
for layout in files:/home/alice sqlite:/home/bob; do
  name="${layout%%:*}"
  rm -rf "$work/speed/$name/case"
  # `ir hunt` exits 1 when it finds something; the planted injections see to that.
  /usr/bin/time -f "bench-hunt-speed: $name layout, $events events: %e s wall, %U s user, %S s system CPU, peak RSS %M KiB" \
    env -i HOME="${layout#*:}" PATH=/usr/bin:/bin "$ir" --json -q --root "$work/speed/$name/root" \
    --case "$work/speed/$name/case" hunt > "$work/speed/$name.json" || [ $? -eq 1 ]
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print("  %d tool calls, %d hits, %d malformed, %d cut" % (len(v["tool_calls"]), len(v["hits"]), v["malformed"], v.get("cut_events", 0)))' "$work/speed/$name.json"
done
