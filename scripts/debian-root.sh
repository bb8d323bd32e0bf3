#!/usr/bin/env bash
# A clean Debian 12 (bookworm) root, for the test that `ir persistence` is
# silent on a stock system (tests/triage.rs, clean_debian_root_*) and for
# scripts/bench-persistence.sh. Idempotent and fast once cached:
#   - $tools/debian12-root/          the tree (with .ir-complete when whole)
#   - $tools/debian12-root.tar.gz    the same tree as debootstrap left it
# Building needs root and debootstrap (apt-get installs it); with the tarball
# cached, only extraction is done. Prints the tree's path on success.
set -euo pipefail

tools="${IR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ir-tools}"
dir="$tools/debian12-root"
tarball="$tools/debian12-root.tar.gz"
mirror="${IR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$dir/.ir-complete" ]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$tools"

if [ ! -f "$tarball" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "debian-root: building needs root (debootstrap); run scripts/setup.sh as root" >&2
    exit 1
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  build="$tools/debian12-build"
  rm -rf "$build"
  echo "debian-root: debootstrap bookworm into $build (a few minutes)" >&2
  debootstrap --arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
    bookworm "$build" "$mirror" >&2
  # Downloaded .debs are not part of an installed system.
  rm -f "$build"/var/cache/apt/archives/*.deb
  tar -C "$build" --numeric-owner -czf "$tarball.tmp" . >&2
  mv "$tarball.tmp" "$tarball"
  rm -rf "$dir"
  mv "$build" "$dir"
else
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    tar -C "$dir" --numeric-owner -xzpf "$tarball"
  else
    # Without root: no device nodes, files owned by us (modes kept).
    tar -C "$dir" -xzpf "$tarball" --no-same-owner --exclude='./dev/*'
  fi
fi
touch "$dir/.ir-complete"
echo "$dir"
