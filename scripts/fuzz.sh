#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets: the bundle's tar reader and
# check pass, the manifest reader, the journal reader, the transcript line
# decoder) for a bounded time, starting from the seeds in fuzz/seeds.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
# cargo fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP lets the stable
# toolchain accept them (the only toolchain these machines have). A crash
# leaves its input in fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
tools="${IR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ir-tools}"
export PATH="$tools/cargo-fuzz/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "fuzz: cargo-fuzz is missing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
  echo "SKIPPED: fuzzing: cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2
  exit 0
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
for t in bundle_tar manifest journal transcript_line; do
  corpus="target/fuzz-corpus/$t"
  mkdir -p "$corpus"
  echo "fuzz: $t for ${secs}s" >&2
  cargo fuzz run --fuzz-dir fuzz "$t" "$corpus" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|ERROR|artifact_prefix)" || true
  test "${PIPESTATUS[0]}" -eq 0
done
