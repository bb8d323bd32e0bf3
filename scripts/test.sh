#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --all-targets "$@"
