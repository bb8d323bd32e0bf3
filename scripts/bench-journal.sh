#!/usr/bin/env bash
# Benchmark: the cost of sealing the case journal.
#
#   scripts/bench-journal.sh [N] [DIR]     (default 10000 appends, in $TMPDIR)
#
# Appends N notes through the library (no process start per entry) to an
# unsealed journal, then to a sealed one, and prints seconds and
# microseconds per append for each. Every append fsyncs the journal and
# atomically replaces journal.head; a sealed one also replaces seal.key
# (temp file, fsync, rename, directory fsync), so the figures depend
# mostly on the disk. PROFILE=dev skips the (slow) release build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
flag=(--release)
[ "$profile" = dev ] && flag=()
cargo run -q -j"${JOBS:-1}" "${flag[@]}" --example bench_journal -- "${1:-10000}" ${2:+"$2"}
