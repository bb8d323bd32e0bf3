//! Help beyond the option list: an example or two per subcommand (shown by
//! `--help` and rendered as EXAMPLES in the man pages), the EXIT STATUS
//! section, and the man pages themselves (`ir.1`, `ir-collect.1`...), one
//! per subcommand, made from the same clap definition so they cannot drift.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The exit codes every command shares.
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success, nothing to report"),
    (
        "1",
        "findings: something the operator must look at (tampering, flagged persistence, hunt hits, an unsound bundle, files that could not be read)",
    ),
    (
        "2",
        "error: bad input, a refusal (evidence not preserved, no confirmation) or a failure; under --json the error is a JSON document {\"error\",\"fix\",\"exit_code\"} on stdout",
    ),
    ("130", "interrupted (Ctrl-C or SIGTERM), journaled as such"),
];

/// Examples per subcommand path (`collect`, `journal verify`): the command
/// line and what it does.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "inventory",
        &[
            ("ir inventory", "the deployment of the user running ir"),
            (
                "ir --root /mnt/img --home /home/alice/.openclaw --json inventory",
                "alice's deployment on a mounted disk image, as JSON",
            ),
        ],
    ),
    (
        "collect",
        &[
            (
                "ir --case /srv/case-42 collect -r age1...",
                "preserve the evidence in one encrypted bundle in the case dir",
            ),
            (
                "ir collect -r age1... -o - | ssh analyst 'cat > bundle.age'",
                "stream the bundle off the host; the manifest, hash and journal stay in the case dir",
            ),
        ],
    ),
    (
        "verify",
        &[
            (
                "ir verify",
                "the case's last bundle against its sidecar hash and the journal",
            ),
            (
                "ir verify bundle.tar.gz.age -i key.txt",
                "every file in the bundle re-hashed against both manifests",
            ),
        ],
    ),
    (
        "extract",
        &[(
            "ir extract bundle.tar.gz.age -i key.txt -o evidence/",
            "open a bundle for analysis, checking every hash",
        )],
    ),
    (
        "timeline",
        &[
            (
                "ir timeline --since 7d",
                "what changed in the last week, newest first",
            ),
            (
                "ir timeline --format bodyfile /home/alice > body.txt",
                "a TSK bodyfile for mactime, plaso or Timesketch",
            ),
            (
                "ir timeline --jsonl | jq -c 'select(.flags != [])'",
                "one JSON object per line, filtered",
            ),
        ],
    ),
    (
        "persistence",
        &[
            (
                "ir persistence",
                "everything that would bring the attacker back, flagged",
            ),
            (
                "ir persistence --baseline base.json",
                "only what was added, removed or changed since a baseline",
            ),
        ],
    ),
    (
        "hunt",
        &[
            ("ir hunt", "transcripts and logs against the built-in rules"),
            (
                "ir hunt --rules extra.toml --jsonl > hits.jsonl",
                "with extra indicators, one hit per line",
            ),
        ],
    ),
    (
        "stop",
        &[(
            "ir stop --timeout 10",
            "stop the gateway; SIGKILL after 10 s",
        )],
    ),
    (
        "rotate",
        &[(
            "ir rotate --show-token",
            "new secrets, revoked pairings; print the new gateway token",
        )],
    ),
    (
        "clear-sessions",
        &[(
            "ir clear-sessions --agent main",
            "remove the main agent's sessions",
        )],
    ),
    (
        "restore",
        &[(
            "ir restore ~/.openclaw/workspace/SOUL.md --from git",
            "put back the last clean SOUL.md from the workspace's git history",
        )],
    ),
    (
        "quarantine",
        &[
            (
                "ir quarantine --all-flagged",
                "move every flagged persistence item into the case",
            ),
            ("ir quarantine --undo 3", "put quarantine 3 back"),
        ],
    ),
    (
        "recover",
        &[(
            "ir recover --start",
            "fix, start the gateway again and prove it healthy",
        )],
    ),
    (
        "audit",
        &[
            ("ir audit", "the hardening audit"),
            ("ir audit --fix", "apply the safe fixes, then audit again"),
        ],
    ),
    (
        "snapshot",
        &[("ir snapshot --json", "record the volatile state now")],
    ),
    (
        "run",
        &[
            (
                "ir run respond --dry-run --set recipient=age1...",
                "the plan of the respond playbook, changing nothing",
            ),
            (
                "ir --yes run respond --set recipient=age1...",
                "run it unattended",
            ),
        ],
    ),
    ("playbooks", &[("ir playbooks", "the shipped playbooks")]),
    (
        "report",
        &[("ir report", "report.md and report.json from the journal")],
    ),
    (
        "demo",
        &[
            ("ir demo", "a whole incident on a sample host in a temp dir"),
            (
                "ir demo --case /tmp/demo-case",
                "the same, keeping the case there",
            ),
        ],
    ),
    (
        "case",
        &[("ir case init -r age1...", "open a case sealed to a key")],
    ),
    (
        "case init",
        &[(
            "ir case init -r age1... --print-verify-key",
            "seal the case and print the verification key once",
        )],
    ),
    (
        "journal",
        &[("ir journal verify", "check the case journal's chain")],
    ),
    (
        "journal verify",
        &[
            ("ir journal verify", "check the hash chain"),
            (
                "ir journal verify -i key.txt --expect-head 1a2b3c4d",
                "check every seal and a head recorded off the host",
            ),
        ],
    ),
    (
        "journal show",
        &[("ir journal show", "the case as a readable timeline")],
    ),
    (
        "journal note",
        &[(
            "ir journal note 'handed to J. Doe'",
            "a chain-of-custody note",
        )],
    ),
    (
        "completions",
        &[(
            "ir completions bash > /etc/bash_completion.d/ir",
            "bash completions",
        )],
    ),
    (
        "man",
        &[
            ("ir man collect | man -l -", "read ir-collect(1)"),
            (
                "ir man --dir /usr/local/share/man/man1",
                "install every page",
            ),
        ],
    ),
];

/// The examples of one subcommand path.
pub fn examples(path: &str) -> &'static [(&'static str, &'static str)] {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(&[], |(_, e)| e)
}

fn examples_text(ex: &[(&str, &str)]) -> String {
    let mut s = String::from("Examples:\n");
    for (cmd, what) in ex {
        s.push_str(&format!("  {cmd}\n      {what}\n"));
    }
    s
}

/// Adds each subcommand's examples to its `--help` (after the options).
pub fn with_examples(cmd: clap::Command) -> clap::Command {
    fn walk(cmd: clap::Command, prefix: &str) -> clap::Command {
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        let mut cmd = cmd;
        for n in names {
            let path = if prefix.is_empty() {
                n.clone()
            } else {
                format!("{prefix} {n}")
            };
            cmd = cmd.mut_subcommand(&n, |s| {
                let ex = examples(&path);
                let s = if ex.is_empty() {
                    s
                } else {
                    s.after_help(examples_text(ex))
                };
                walk(s, &path)
            });
        }
        cmd
    }
    walk(cmd, "")
}

/// One man page: clap_mangen's sections, then EXIT STATUS and EXAMPLES.
fn render(cmd: &clap::Command, path: &str, out: &mut dyn Write) -> std::io::Result<()> {
    // The examples go in their own section, not clap_mangen's EXTRA.
    let bare = cmd.clone().after_help(None::<&str>);
    let man = clap_mangen::Man::new(bare.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if bare.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if bare.get_subcommands().next().is_some() {
        man.render_subcommands_section(out)?;
    }
    let mut r = String::from(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_STATUS {
        r.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_esc(code),
            roff_esc(what)
        ));
    }
    let ex = if path.is_empty() {
        &[
            ("ir inventory", "what OpenClaw deployment is on this host"),
            (
                "ir --yes run respond --set recipient=age1...",
                "the whole response, journaled",
            ),
        ][..]
    } else {
        examples(path)
    };
    if !ex.is_empty() {
        r.push_str(".SH EXAMPLES\n");
        for (cmd, what) in ex {
            r.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_esc(cmd),
                roff_esc(what)
            ));
        }
    }
    out.write_all(r.as_bytes())?;
    if bare.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Text made safe for roff: backslashes and hyphens escaped, and a line
/// that would start with a control character (`.`, `'`) neutralised.
fn roff_esc(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// Every page: `(file name, subcommand path, command)`, `ir.1` first. A
/// page's name joins the path with `-`, as `ir.1`'s SUBCOMMANDS section
/// names them (`ir-journal-verify(1)`).
fn pages() -> Vec<(String, String, clap::Command)> {
    fn walk(
        cmd: &clap::Command,
        path: &str,
        name: &str,
        out: &mut Vec<(String, String, clap::Command)>,
    ) {
        out.push((format!("{name}.1"), path.to_string(), cmd.clone()));
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let p = if path.is_empty() {
                s.get_name().to_string()
            } else {
                format!("{path} {}", s.get_name())
            };
            let n = format!("{name}-{}", s.get_name());
            let sub = s.clone().display_name(n.clone());
            walk(&sub, &p, &n, out);
        }
    }
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, "", "ir", &mut out);
    out
}

/// The page of one subcommand (`None`: `ir.1`), as roff.
pub fn page(path: Option<&str>) -> Option<Vec<u8>> {
    let want = path.unwrap_or("").trim().to_string();
    let (_, p, cmd) = pages().into_iter().find(|(_, p, _)| *p == want)?;
    let mut buf = Vec::new();
    render(&cmd, &p, &mut buf).ok()?;
    Some(buf)
}

/// Writes every page into `dir` (created if need be); returns their paths.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (file, p, cmd) in pages() {
        let mut buf = Vec::new();
        render(&cmd, &p, &mut buf)?;
        let path = dir.join(file);
        crate::safefs::write_atomic(&path, &buf, 0o644)?;
        written.push(path);
    }
    Ok(written)
}
