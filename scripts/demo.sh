#!/usr/bin/env bash
# The main job on the embedded sample, until `ir demo` lands: a compromised
# OpenClaw 2026.7.1 host (fixtures/hosts/files-2026.7.1, copied to a temp dir)
# goes through inventory, evidence collection, verification and triage.
# Nothing outside the temp dir is read as the host or written.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
work=$(mktemp -d)
cp -a fixtures/hosts/files-2026.7.1 "$work/root"
case_dir="$work/case"
export IR_PASSPHRASE="demo only: use -r age1... for real cases"
ir() { HOME=/home/alice ./target/release/ir --root "$work/root" --case "$case_dir" "$@"; }
step() { printf '\n\033[1m== ir %s\033[0m\n' "$*"; }
step inventory;            ir inventory
step collect;              ir -q collect --passphrase && ls "$case_dir"
step verify;               ir verify "$case_dir"/incident-*.tar.gz.age --passphrase
step "timeline --since 30d"; ir timeline --since 30d /home/alice/.openclaw/workspace || true
step persistence;          ir persistence --since 30d || true
step hunt;                 ir hunt || true
step "journal verify";     ir journal verify
echo "case dir: $case_dir"
