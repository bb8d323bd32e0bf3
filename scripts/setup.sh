#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo, idempotently:
#   - Go `age`, GNU tar and ssh-keygen (Debian packages), for bundle interop tests,
#     and git, to build workspace histories that `ir restore --from git` reads;
#   - Debian's chromium, to load report.html headless (tests/report_browser.rs);
#   - Node 24 and openclaw (2026.9.6, and 2026.7.1 for the file layout) from
#     the npm registry, for the real-gateway tests
#     (scripts/install-openclaw.sh, into a cache dir outside the repo);
#   - ansible-core from PyPI, for the fleet playbook's test;
#   - for the static binaries (scripts/build-static.sh) and their test: the
#     musl targets (rustup), zig from PyPI (the C compiler for both targets)
#     and qemu-user-static (runs the aarch64 binary in the chroot test).
# On a machine where this cannot install something, the tests that need it
# print SKIPPED with the reason; under CI=true they fail instead.
set -uo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v age >/dev/null 2>&1 || need_apt+=(age)
command -v tar >/dev/null 2>&1 || need_apt+=(tar)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v sha256sum >/dev/null 2>&1 || need_apt+=(coreutils)
command -v git >/dev/null 2>&1 || need_apt+=(git)
# rpm and rpmbuild, to build the RHEL-like root whose rpm database `ir
# persistence` verifies files against.
command -v rpmbuild >/dev/null 2>&1 || need_apt+=(rpm)
# Headless Chromium, for the test that loads report.html with no console
# error and no network request (tests/report_browser.rs; about 1.5 min).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# qemu-user, to run the aarch64 static binary in its chroot test.
[ -x /usr/bin/qemu-aarch64-static ] || need_apt+=(qemu-user-static)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install ${need_apt[*]}" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "setup: missing ${need_apt[*]} (install them as root to run every test)" >&2
  fi
fi

# Ansible, for the fleet playbook's test: ansible-core from PyPI in a venv in
# the tools cache (a system Python may refuse pip installs, PEP 668).
tools="${IR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ir-tools}"
if [ ! -x "$tools/ansible/bin/ansible-playbook" ] && command -v python3 >/dev/null 2>&1; then
  echo "setup: ansible-core into $tools/ansible" >&2
  mkdir -p "$tools"
  if ! python3 -m venv "$tools/ansible" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    python3 -m venv "$tools/ansible" >&2
  fi
  "$tools/ansible/bin/python" -m pip install --quiet ansible-core >&2 || echo "setup: ansible-core install failed; the Ansible test will skip" >&2
fi

# Static builds: Rust's musl targets (their libc ships with rustup), and zig
# (PyPI's ziglang, pinned) as the C compiler for bundled SQLite and zstd.
if command -v rustup >/dev/null 2>&1; then
  rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl >&2 \
    || echo "setup: rustup could not add the musl targets; the static-binary test will skip" >&2
fi
zig_version=0.17.1
if ! "$tools/zig/bin/python" -m ziglang version 2>/dev/null | grep -qx "$zig_version" && command -v python3 >/dev/null 2>&1; then
  echo "setup: ziglang $zig_version into $tools/zig" >&2
  mkdir -p "$tools"
  python3 -m venv "$tools/zig" >&2 \
    && "$tools/zig/bin/python" -m pip install --quiet "ziglang==$zig_version" >&2 \
    || echo "setup: ziglang install failed; the static-binary test will skip" >&2
fi

if command -v npm >/dev/null 2>&1; then
  bash scripts/install-openclaw.sh >/dev/null || echo "setup: openclaw install failed; real-gateway tests will skip" >&2
  # The last release of the JSON/JSONL layout, for the tests of both layouts.
  OPENCLAW_VERSION=2026.7.1 bash scripts/install-openclaw.sh >/dev/null \
    || echo "setup: openclaw@2026.7.1 install failed; its real-gateway test will skip" >&2
fi

# cargo-fuzz, for scripts/fuzz.sh (the fuzz targets of the hostile-input
# readers): built once from crates.io into the tools cache.
if [ ! -x "$tools/cargo-fuzz/bin/cargo-fuzz" ]; then
  echo "setup: cargo-fuzz into $tools/cargo-fuzz" >&2
  cargo install --quiet --locked cargo-fuzz --root "$tools/cargo-fuzz" >&2 \
    || echo "setup: cargo-fuzz install failed; scripts/fuzz.sh will skip" >&2
fi

# A clean Debian 12 root (debootstrap from Debian's mirror, cached as a
# tarball in the tools dir), for the test that `ir persistence` is silent on
# a stock system and for scripts/bench-persistence.sh.
bash scripts/debian-root.sh >/dev/null \
  || echo "setup: no Debian 12 root; the clean-Debian persistence test will skip" >&2
