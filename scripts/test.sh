#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, then every test, then
# each fuzz target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --all-targets "$@"
bash scripts/fuzz.sh "${IR_FUZZ_SECONDS:-20}"
