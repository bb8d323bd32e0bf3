#!/usr/bin/env bash
# Coverage and agreement of `ir audit` with OpenClaw's own `security audit`.
#
#  1. Coverage: the critical and warn check ids OpenClaw can emit, read
#     off the installed package (the `checkId` strings of dist/audit*.mjs,
#     the channel-policy, channel and security-audit modules, the token
#     source conflict module and the bundled plugins' security collectors),
#     against `ir audit --list-checks`: "N of M implemented", then how many
#     `ir audit` lists as not checked (not decidable offline, or --deep
#     only and not ported), and the ids left.
#  2. Agreement: for each configuration of tests/data/audit-configs.json,
#     both audits on a copy of one onboarded state dir; "K of C agree"
#     (critical and warn ids with severities; ir.* and info excluded).
#     Skipped with --coverage-only (step 2 takes minutes: OpenClaw's audit
#     spends 10-20 s of CPU per run loading its modules).
#
#   [IR_BIN=path/to/ir] [OPENCLAW_DIR=.../node_modules/openclaw] \
#     scripts/bench-audit.sh [--coverage-only] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
coverage_only=0
if [ "${1:-}" = "--coverage-only" ]; then coverage_only=1; shift; fi
tools="${IR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ir-tools}"
oc_dir="${OPENCLAW_DIR:-$tools/openclaw-2026.9.6/node_modules/openclaw}"
oc_bin="$tools/openclaw-2026.9.6.sh"
[ -d "$oc_dir/dist" ] || { echo "bench-audit: no OpenClaw at $oc_dir (run scripts/install-openclaw.sh)" >&2; exit 2; }
if [ -z "${IR_BIN:-}" ]; then
  cargo build --quiet
fi
ir="${IR_BIN:-$repo/target/debug/ir}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"

"$ir" --json audit --list-checks > "$work/ir-checks.json"

python3 - "$oc_dir/dist" "$work/ir-checks.json" <<'PY'
import glob, json, re, sys
dist, listed = sys.argv[1], json.load(open(sys.argv[2]))
pats = [r'audit[^/]*\.mjs', r'channel-policy-[^/]*\.mjs', r'channel-[A-Za-z0-9_-]{8}\.mjs',
        r'security-audit-[^/]*\.mjs', r'auth-token-source-conflict-[^/]*\.mjs']
files = [f for f in glob.glob(dist + '/*.mjs') if any(re.fullmatch(p, f.rsplit('/', 1)[1]) for p in pats)]
files += glob.glob(dist + '/extensions/*/register.runtime.js')
ids = {}
for f in files:
    s = open(f).read()
    for m in re.finditer(r'checkId:\s*(`[^`]*`|"[^"]*")', s):
        sev = re.search(r'severity:\s*([^\n]*)', s[m.end():m.end() + 400])
        sevs = set(re.findall(r'"(critical|warn|info)"', sev.group(1) if sev else ''))
        raw = m.group(1).strip('`"')
        names = ([raw.replace('${credential}', c) for c in ('token', 'password')]
                 if '${credential}' in raw else [re.sub(r'\$\{[^}]*\}?', '*', raw)])
        for n in names:
            ids.setdefault(n, set()).update(sevs or {'warn'})
cw = sorted(k for k, v in ids.items() if v & {'critical', 'warn'})
def match(pat, i):
    if '*' not in pat:
        return pat == i
    return re.fullmatch(re.escape(pat).replace(r'\*', '.+'), i) is not None
ours = [c['id'] for c in listed['checks'] if c['openclaw']]
nc = [c['id'] for c in listed['not_checked']]
done = [i for i in cw if any(match(o, i) or o == i for o in ours)]
skipped = [i for i in cw if i not in done and any(match(o, i) or o == i for o in nc)]
left = [i for i in cw if i not in done and i not in skipped]
print(f"coverage: {len(done)} of {len(cw)} OpenClaw critical+warn check ids implemented "
      f"({len(skipped)} listed by ir audit as not checked, {len(left)} left)")
print("left: " + " ".join(left))
PY

[ "$coverage_only" = 1 ] && exit 0
[ -x "$oc_bin" ] || { echo "bench-audit: no $oc_bin" >&2; exit 2; }

export OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_NO_AUTO_UPDATE=1 OPENCLAW_OFFLINE=1
base="$work/base"
if [ ! -f "$base/st/openclaw.json" ]; then
  mkdir -p "$base/home"
  OPENCLAW_STATE_DIR="$base/st" HOME="$base/home" "$oc_bin" onboard --non-interactive \
    --accept-risk --mode local --skip-health --skip-channels --skip-skills --skip-search \
    --skip-ui --skip-hooks --no-install-daemon --gateway-bind loopback --gateway-auth token \
    --json --auth-choice skip --gateway-port 18999 \
    --gateway-token "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >/dev/null 2>&1
fi

python3 - "$repo/tests/data/audit-configs.json" "$base" "$work" "$oc_bin" "$ir" <<'PY'
import concurrent.futures as cf, json, os, shutil, sqlite3, subprocess, sys, time
configs, base, work, oc, ir = sys.argv[1:]
token = json.load(open(base + '/st/openclaw.json'))['gateway']['auth']['token']
def prep(w):
    d = f"{work}/cfg/{w['name']}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d + '/home')
    shutil.copytree(base + '/st', d + '/st', symlinks=True)
    c = json.load(open(d + '/st/openclaw.json'))
    for k, v in w.get('set', {}).items():
        cur = c
        ks = k.split('.')
        for p in ks[:-1]:
            if not isinstance(cur.get(p), dict):
                cur[p] = {}
            cur = cur[p]
        cur[ks[-1]] = token if v == '@GATEWAY_TOKEN@' else v
    inc = w.get('include')
    if inc:
        open(f"{d}/st/{inc['file']}", 'w').write(json.dumps({inc['key']: inc['value']}))
        os.chmod(f"{d}/st/{inc['file']}", int(inc['mode'], 8))
        c['$include'] = './' + inc['file']
    json.dump(c, open(d + '/st/openclaw.json', 'w'), indent=2)
    os.chmod(d + '/st/openclaw.json', 0o600)
    os.chmod(d + '/st', 0o700)
    for p, m in w.get('chmod', {}).items():
        os.chmod(d + '/st' if p == '.' else f"{d}/st/{p}", int(m, 8))
    # Exec approvals and install ledgers live in state/openclaw.sqlite.
    if w.get('approvals') or w.get('machine_state'):
        db = sqlite3.connect(d + '/st/state/openclaw.sqlite')
        if w.get('approvals'):
            db.execute("INSERT INTO exec_approvals_config (config_key, raw_json, has_socket_token, "
                       "agent_count, allowlist_count, updated_at_ms) VALUES ('current', ?, 0, 0, 0, 0)",
                       (json.dumps(w['approvals']),))
        for k, v in w.get('machine_state', {}).items():
            db.execute("INSERT OR REPLACE INTO config_machine_state (state_key, value_json, "
                       "updated_at_ms) VALUES (?, ?, 0)", (k, json.dumps(v)))
        db.commit()
        db.close()
    for rel, text in w.get('files', {}).items():
        os.makedirs(os.path.dirname(f"{d}/st/{rel}"), exist_ok=True)
        open(f"{d}/st/{rel}", 'w').write(text)
    return d
def run(w):
    d = prep(w)
    env = dict(os.environ, OPENCLAW_STATE_DIR=d + '/st', HOME=d + '/home')
    # A deep configuration runs both with --deep; OpenClaw's live gateway
    # probe (gateway.probe_*) is not compared: ir's --deep makes none.
    deep = ['--deep'] if w.get('deep') else []
    r = subprocess.run([oc, 'security', 'audit', '--json'] + deep, env=env, capture_output=True, text=True)
    try:
        theirs = {(f['checkId'], f['severity']) for f in json.loads(r.stdout)['findings']
                  if f['severity'] != 'info' and not f['checkId'].startswith('gateway.probe_')}
    except Exception:
        return w['name'], None, None
    r = subprocess.run([ir, '--json', '--case', d + '/case', 'audit'] + deep, env=env, capture_output=True, text=True)
    ours = {(f['id'], f['severity']) for f in json.loads(r.stdout)['findings']
            if not f['id'].startswith('ir.') and f['severity'] != 'info'}
    return w['name'], theirs, ours
ws = json.load(open(configs))
t0 = time.time()
agree, ids = 0, set()
with cf.ThreadPoolExecutor(int(os.environ.get('BENCH_JOBS', '4'))) as ex:
    for name, theirs, ours in ex.map(run, ws):
        if theirs is None:
            print(f"  {name}: OpenClaw refused the config")
        elif theirs == ours:
            agree += 1
            ids |= {i for i, _ in theirs}
        else:
            print(f"  {name}: only OpenClaw {sorted(theirs - ours)}; only ir {sorted(ours - theirs)}")
print(f"agreement: {agree} of {len(ws)} configurations, {len(ids)} distinct OpenClaw ids exercised, {time.time() - t0:.0f} s")
PY
