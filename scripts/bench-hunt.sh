#!/usr/bin/env bash
# Benchmark: how much of a corpus of real injection texts and dangerous
# commands `ir hunt` finds, and how much benign text and everyday commands it
# flags, beside the seed playbook's one-liner
#   grep -i "rm -rf\|ignore.*instruction\|system.*prompt"
# in the same run.
#
#   scripts/bench-hunt.sh [CORPUS_DIR]     (default bench/corpus)
#
# The corpus (bench/corpus/, sources and licences in its README) is planted
# into one OpenClaw session of each layout: a JSONL transcript, and SQLite
# transcript_events with every third event zstd-compressed. Texts are placed
# as a user message, a web_fetch result and a read result; commands as exec
# calls. No network is used.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-bench/corpus}"
work="${BENCH_DIR:-/tmp/ir-bench-hunt}"
cargo build --release -q --bin ir --example bench_hunt
exec target/release/examples/bench_hunt "$corpus" "$work" "$PWD/target/release/ir"
