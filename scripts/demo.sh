#!/usr/bin/env bash
# The main job on the embedded sample. Until `ir demo` lands this runs
# `ir inventory` on the fake host in fixtures/hosts/files-2026.7.1 (a
# compromised OpenClaw 2026.7.1 with a running gateway), then shows and
# verifies the case journal it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
case_dir=$(mktemp -d)/case
ir() { HOME=/home/alice ./target/release/ir --root fixtures/hosts/files-2026.7.1 --case "$case_dir" "$@"; }
ir inventory
echo
ir journal show
ir journal verify
echo "case dir: $case_dir"
