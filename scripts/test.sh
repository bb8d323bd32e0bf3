#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, then every test, then
# each fuzz target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The static binaries (musl, x86_64 and aarch64) the chroot tests run: built
# here, outside the test harness, so no test waits on a release build.
bash scripts/build-static.sh >&2 || echo "test.sh: static build failed; tests/static_binary.rs says why" >&2
cargo test --all-targets "$@"
bash scripts/fuzz.sh "${IR_FUZZ_SECONDS:-20}"
