#!/usr/bin/env bash
# Peak memory and time of `ir verify` and `ir extract` on crafted bundles
# (the bombs of issue 15) and on an honest one, beside GNU tar listing the
# same archive. Prints one line per case; the bound documented in the
# README is 256 MiB peak RSS whatever the bundle claims.
#   [IR_BIN=path/to/ir] scripts/bench-bundle.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
# IR_BIN: an already built binary (default: build the release one).
if [ -z "${IR_BIN:-}" ]; then
  cargo build --release --quiet
fi
ir="${IR_BIN:-$PWD/target/release/ir}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
[ -f key.txt ] || age-keygen -o key.txt 2>/dev/null
recipient=$(grep -o 'age1[0-9a-z]*' key.txt)
export HOME="$work/home"
mkdir -p "$HOME"

python3 - <<'PY'
import io, json, tarfile

def header(name, size, typ=b"0", extra=None):
    h = bytearray(512)
    h[0:len(name[:100])] = name[:100]
    h[100:108] = b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    h[136:148] = b"00000000000\0"
    h[156:157] = typ
    h[257:265] = b"ustar  \0"
    if extra:
        extra(h)
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)

def pad(n):
    return b"\0" * ((512 - n % 512) % 512)

def big(v):
    return b"\x80" + v.to_bytes(11, "big")

def sparse_bomb(claim, regions_extra=0):
    def ext(h):
        h[386:398] = big(claim - 1)
        h[398:410] = b"%011o\0" % 1
        h[482] = 1 if regions_extra else 0
        h[483:495] = big(claim)
    out = header(b"top/bomb", 1, b"S", ext)
    for i in range(regions_extra):
        b = bytearray(512)
        b[504] = 1 if i + 1 < regions_extra else 0
        out += bytes(b)
    return out + b"x" + pad(1)

def long_name(n):
    data = b"a" * n + b"\0"
    return header(b"././@LongLink", len(data), b"L") + data + pad(len(data)) + header(b"x", 1) + b"y" + pad(1)

def tiny_members(n):
    parts, items = [], []
    for i in range(n):
        name = b"top/files/%07d" % i
        parts.append(header(name, 1) + b"z" + pad(1))
        items.append({"source": "s", "archive_path": "files/%07d" % i, "type": "file", "sha256": "0" * 64, "verdict": "ok"})
    m = json.dumps({"format": "ir-bundle/1", "created": "", "host": "h", "ir_version": "0", "root": "/", "items": items}).encode()
    parts.append(header(b"top/manifest.json", len(m)) + m + pad(len(m)))
    return b"".join(parts)

def manifest_bomb():
    m = b'{"items":[' + b"0," * 125_000 + b"0]}"
    return header(b"top/x", 1) + b"x" + pad(1) + header(b"top/manifest.json", len(m)) + m + pad(len(m))

end = b"\0" * 1024
cases = {
    "sparse-2^40": sparse_bomb(1 << 40),
    "sparse-2GiB": sparse_bomb(2 << 30),
    "sparse-200k-ext": sparse_bomb(1 << 30, 200_000 // 21),
    "name-256MB": long_name(256 << 20),
    "members-1M": tiny_members(1_000_000),
    "manifest-bomb": manifest_bomb(),
}
for k, v in cases.items():
    open(k + ".tar", "wb").write(v + end)
PY

for t in *.tar; do
  [ -f "${t%.tar}.tar.gz.age" ] || gzip -1 -c "$t" | age -r "$recipient" > "${t%.tar}.tar.gz.age"
done
printf '%-18s %10s %-8s %9s %10s %9s %10s %12s\n' case bundle verdict "verify s" "verify MiB" "extract s" "extract MiB" "gnu-tar-t s"
for t in *.tar; do
  c="${t%.tar}" b="$work/${t%.tar}.tar.gz.age"
  size=$(stat -c %s "$b")
  /usr/bin/time -f '%e %M' -o v.time "$ir" --case "$work/case" -q verify "$b" -i key.txt >/dev/null 2>&1 && verdict=sound || verdict=refused
  rm -rf out
  /usr/bin/time -f '%e %M' -o x.time "$ir" --case "$work/case" -q extract "$b" -i key.txt -o out >/dev/null 2>&1 || true
  /usr/bin/time -f '%e' -o g.time sh -c "age -d -i key.txt '$b' | tar -tzf - >/dev/null 2>&1" || true
  read -r vs vk < <(tail -1 v.time); read -r xs xk < <(tail -1 x.time); read -r gs < <(tail -1 g.time)
  printf '%-18s %10s %-8s %9s %10s %9s %10s %12s\n' "$c" "$size" "$verdict" "$vs" "$((vk / 1024))" "$xs" "$((xk / 1024))" "$gs"
done
rm -rf out
