#!/usr/bin/env bash
# Benchmark: `ir collect` against the standard-tools pipeline, in one run.
#
#   scripts/bench-collect.sh [SIZE_MIB]     (default 1024)
#
# Generates an OpenClaw home of SIZE_MIB (80% JSONL transcripts, 20%
# incompressible media, 2,000 files), warms the page cache, then times
#   pipeline: find HOME -type f -exec sha256sum {} + ; tar -czf - HOME | age -r KEY > out ; sha256sum out
#   ir:       ir collect --home HOME -r KEY
# and prints both wall times, their ratio and ir's peak RSS.
# Needs: age, age-keygen, GNU tar, python3, /usr/bin/time (apt-get install age time).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib="${1:-1024}"
work="${BENCH_DIR:-/tmp/ir-bench}"
cargo build --release -q
ir="$PWD/target/release/ir"
for t in age age-keygen tar python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (apt-get install age time)" >&2; exit 2; }
done

rm -rf "$work" && mkdir -p "$work/case"
home="$work/home-${size_mib}m/.openclaw"
python3 - "$home" "$size_mib" <<'PY'
import json, os, random, sys
home, mib = sys.argv[1], int(sys.argv[2])
total = mib << 20
files = 2000
media_files = 400                      # 20% of the bytes, 20% of the files
jsonl_bytes, media_bytes = total * 8 // 10, total * 2 // 10
rnd = random.Random(42)
sess = os.path.join(home, "agents/main/sessions"); os.makedirs(sess, exist_ok=True)
media = os.path.join(home, "media"); os.makedirs(media, exist_ok=True)
words = "the agent read the file and ran a tool call to fetch the page then summarised it for the user".split()
per = jsonl_bytes // (files - media_files)
for i in range(files - media_files):
    with open(os.path.join(sess, "%08x-%04x.jsonl" % (rnd.getrandbits(32), i)), "w") as f:
        n = 0
        while n < per:
            line = json.dumps({"type": "message", "id": "%016x" % rnd.getrandbits(64),
                "timestamp": "2026-11-2%dT%02d:%02d:%02d.%03dZ" % (rnd.randint(0, 4), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59), rnd.randint(0, 999)),
                "message": {"role": rnd.choice(["user", "assistant", "toolResult"]),
                            "content": [{"type": "text", "text": " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 60)))}],
                            "usage": {"input": rnd.randint(1, 9999), "output": rnd.randint(1, 999)}}}) + "\n"
            f.write(line); n += len(line)
per = media_bytes // media_files
for i in range(media_files):
    with open(os.path.join(media, "img-%04d.bin" % i), "wb") as f:
        f.write(os.urandom(per))
with open(os.path.join(home, "openclaw.json"), "w") as f:
    json.dump({"gateway": {"mode": "local", "port": 18789, "auth": {"mode": "token", "token": "BENCH"}}}, f)
PY
age-keygen -o "$work/key.txt" 2>/dev/null
key=$(grep -o 'age1[a-z0-9]*' "$work/key.txt")
du -sh "$home" | sed 's/^/bench: home /'
cat $(find "$home" -type f) > /dev/null   # warm the page cache for both

t0=$(date +%s.%N)
find "$home" -type f -exec sha256sum {} + > "$work/pipeline.sums"
tar -czf - -C "$(dirname "$home")" .openclaw | age -r "$key" > "$work/pipeline.tar.gz.age"
sha256sum "$work/pipeline.tar.gz.age" > /dev/null
t1=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/ir.rss" "$ir" -q --case "$work/case" --home "$home" collect -r "$key"
t2=$(date +%s.%N)

python3 - "$t0" "$t1" "$t2" "$(cat "$work/ir.rss")" "$size_mib" "$work" <<'PY'
import sys, os, glob
t0, t1, t2, rss_kib, mib, work = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
pipe, ir = t1 - t0, t2 - t1
b = glob.glob(os.path.join(work, "case", "*.tar.gz.age"))[0]
print(f"bench: {mib} MiB home, {os.cpu_count()} cores")
print(f"bench: pipeline {pipe:.2f} s -> {os.path.getsize(os.path.join(work, 'pipeline.tar.gz.age')) >> 20} MiB")
print(f"bench: ir       {ir:.2f} s -> {os.path.getsize(b) >> 20} MiB, peak RSS {rss_kib / 1024:.1f} MiB")
print(f"bench: ratio ir/pipeline = {ir / pipe:.3f}")
PY
