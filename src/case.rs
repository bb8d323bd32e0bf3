//! A case: the case dir, its journal, and the journaled run of one command.
//!
//! Every command that reads or changes the host runs inside
//! [`Ctx::journaled`], which appends a `start` entry (argv redacted, the
//! options that chose the target) before the work and an `end` entry (status
//! `ok`, `failed`, `refused` or `interrupted`, exit code, details, error)
//! after it, whatever happens in between. The journal is kept apart from
//! diagnostics: it is evidence, not a log.

use crate::evidence::keys::Encryption;
use crate::exit::{self, Exit};
use crate::host::Root;
use crate::journal::{Appended, Journal};
use crate::openclaw::{Deployment, Target, locate};
use crate::record::{Custody, End, Event, Record, Start, Status, TargetRecord};
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

/// The options every subcommand takes.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub home: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub profile: Option<String>,
    pub root: PathBuf,
    pub case: PathBuf,
    /// Whether `--case` (or `IR_CASE`) was given, rather than the default
    /// `./ir-case`.
    pub case_given: bool,
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub yes: bool,
    /// The target host's name, overriding the root's `/etc/hostname`.
    pub hostname: Option<String>,
    /// Chain-of-custody fields given on this command line.
    pub custody: Custody,
}

/// What a command hands back to be journaled.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    /// Recorded in the `end` entry under `details`.
    pub details: Value,
}

impl Outcome {
    /// A successful outcome with details.
    pub fn ok(details: Value) -> Outcome {
        Outcome {
            exit: Exit::Ok,
            details,
        }
    }

    /// An outcome whose details are the command's typed record (one of
    /// [`crate::record`]'s), which later commands read back as that type.
    pub fn record(exit: Exit, record: &impl serde::Serialize) -> Result<Outcome> {
        Ok(Outcome {
            exit,
            details: serde_json::to_value(record)?,
        })
    }
}

/// The context of one invocation.
#[derive(Debug)]
pub struct Ctx {
    pub global: Global,
    /// argv with secret values redacted, as journaled.
    pub argv: Vec<String>,
}

/// One journaled command in progress; commands add their own entries
/// through it (each revocation, each signal sent...).
pub struct Run<'a> {
    journal: &'a Journal,
    pub id: String,
    pub command: String,
}

impl Run<'_> {
    /// Appends an `event` entry to this run.
    pub fn event(&self, event: &str, details: Value) -> Result<Appended> {
        self.journal.append(Record::Event(Event {
            run: self.id.clone(),
            command: self.command.clone(),
            event: event.to_string(),
            details,
        }))
    }

    /// The journal this run writes to.
    pub fn journal(&self) -> &Journal {
        self.journal
    }

    /// Starts sealing the journal, if it is not sealed yet: draws a seed,
    /// encrypts it to `enc` into `seal.age`, and appends a `seal` event
    /// sealed with it. Prints `seal: <fingerprint>` on stderr. The seed
    /// never leaves memory unencrypted, unless `verify_key` asks for it
    /// back to be shown once. `None` when the journal was already sealed.
    pub fn begin_sealing(
        &self,
        enc: Option<&Encryption>,
        verify_key: bool,
    ) -> Result<Option<Sealed>> {
        if self.journal.is_sealed() {
            return Ok(None);
        }
        let seed = crate::seal::new_seed()?;
        let fp = crate::seal::fingerprint(&seed);
        let shown = verify_key.then(|| seed.clone());
        let event = Record::Event(Event {
            run: self.id.clone(),
            command: self.command.clone(),
            event: "seal".into(),
            details: serde_json::json!({
                "fingerprint": fp,
                "encrypted_to": enc.map(Encryption::describe),
                "seal_age": enc.map(|_| crate::seal::SEAL_AGE),
                "verify_key_shown": verify_key,
            }),
        });
        let a = self
            .journal
            .append_starting_seal(event, crate::journal::SealStart { seed, enc })?;
        eprintln!("seal: {fp}");
        Ok(Some(Sealed {
            fingerprint: fp,
            verify_key: shown.map(|s| crate::seal::verify_key(&s, a.seq)),
        }))
    }
}

/// A journal just sealed.
pub struct Sealed {
    /// The seed's fingerprint.
    pub fingerprint: String,
    /// The verification key (the seed and its first seq), when asked for.
    pub verify_key: Option<zeroize::Zeroizing<String>>,
}

/// Flags whose value is a secret, and `--set` keys that name one.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("token")
        || n.contains("password")
        || n.contains("passphrase")
        || n.contains("secret")
        || n.ends_with("key"))
        && !n.ends_with("-file")
        && !n.ends_with("_file")
}

/// Redacts secret values in argv: `--token X`, `--token=X`,
/// `--set gateway.token=X`, and anything shaped like an age secret key.
pub fn redact_argv(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut redact_next = false;
    let mut set_next = false;
    for a in args {
        if redact_next {
            out.push("<redacted>".into());
            redact_next = false;
            continue;
        }
        if a.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
            out.push("<redacted>".into());
            continue;
        }
        if set_next {
            set_next = false;
            out.push(match a.split_once('=') {
                Some((k, _)) if is_secret_name(k) => format!("{k}=<redacted>"),
                _ => a.clone(),
            });
            continue;
        }
        if let Some(flag) = a.strip_prefix("--") {
            if let Some((name, _)) = flag.split_once('=') {
                if is_secret_name(name) {
                    out.push(format!("--{name}=<redacted>"));
                    continue;
                }
                if name == "set" {
                    let v = &flag[4..];
                    out.push(match v.split_once('=') {
                        Some((k, _)) if is_secret_name(k) => format!("--set={k}=<redacted>"),
                        _ => a.clone(),
                    });
                    continue;
                }
            } else if flag == "set" {
                set_next = true;
            } else if is_secret_name(flag)
                && !matches!(
                    flag,
                    "show-token" | "passphrase" | "purge-backups" | "print-verify-key"
                )
            {
                redact_next = true;
            }
        }
        out.push(a.clone());
    }
    out
}

impl Ctx {
    /// Builds the context from parsed global options and raw argv.
    pub fn new(global: Global, raw_argv: &[String]) -> Ctx {
        Ctx {
            argv: redact_argv(raw_argv),
            global,
        }
    }

    /// The host root.
    pub fn root(&self) -> Root {
        Root::new(self.global.root.clone())
    }

    /// What discovery should resolve. `--home` and `--config` are mapped
    /// with [`under_root`]; when `--home` is a `~/.openclaw*` dir and
    /// `OPENCLAW_HOME` is not set, `~` is taken as its parent (the home of
    /// the user OpenClaw ran as), so a configured `~/work` workspace is that
    /// user's and not the examiner's.
    pub fn target(&self) -> Target {
        let root = self.root();
        let mut env = locate::Env::from_process();
        let home = self.global.home.as_deref().map(|h| under_root(&root, h));
        if let Some(user_home) = home.as_deref().and_then(|h| owner_home(&root, h)) {
            if env.get("OPENCLAW_HOME").is_none() && env.get("HOME") != user_home.to_str() {
                if self.global.verbose > 0 {
                    eprintln!(
                        "ir: ~ is {} (the parent of --home)",
                        crate::sanitize::escape_path(&user_home)
                    );
                }
                env.0
                    .insert("HOME".into(), user_home.to_string_lossy().into_owned());
            }
        }
        Target {
            request: locate::Request {
                home,
                config: self.global.config.as_deref().map(|c| under_root(&root, c)),
                profile: self.global.profile.clone(),
            },
            env,
            root,
        }
    }

    /// Discovers the deployment ([`crate::openclaw::discover`]) and warns
    /// about every configured path missing under `--root`.
    pub fn discover(&self) -> Result<Deployment> {
        let dep = crate::openclaw::discover(&self.target())?;
        self.warn_missing(&dep);
        Ok(dep)
    }

    /// [`Ctx::discover`] for commands that preserve evidence
    /// ([`crate::openclaw::discover_for_evidence`]).
    pub fn discover_for_evidence(&self) -> Result<Deployment> {
        let dep = crate::openclaw::discover_for_evidence(&self.target())?;
        self.warn_missing(&dep);
        Ok(dep)
    }

    /// Warns (stderr, not under `-q`) about each path of [`missing_paths`].
    pub fn warn_missing(&self, dep: &Deployment) {
        for m in missing_paths(dep, &self.root()) {
            crate::output::warn(self.global.quiet, &m);
        }
    }

    /// Opens the case journal, creating the case dir, and says where it is
    /// when it had to be made (a read-only command run in some cwd must not
    /// leave an `ir-case` behind without a word).
    pub fn journal(&self) -> Result<Journal> {
        let case = &self.global.case;
        let existed = crate::safefs::lstat(case).ok().flatten().is_some();
        let j = Journal::open(case)?;
        if !existed && !self.global.quiet {
            let abs = std::path::absolute(case).unwrap_or_else(|_| case.clone());
            eprintln!(
                "ir: created the case dir {}",
                crate::sanitize::escape_path(&abs)
            );
        }
        Ok(j)
    }

    /// Runs `f` between a `start` and an `end` journal entry.
    pub fn journaled<R>(
        &self,
        command: &str,
        f: impl FnOnce(&Run) -> Result<(R, Outcome)>,
    ) -> Result<(R, Exit)> {
        self.journaled_with(command, Value::Null, f)
    }

    /// [`Ctx::journaled`], with `details` recorded in the start entry.
    pub fn journaled_with<R>(
        &self,
        command: &str,
        details: Value,
        f: impl FnOnce(&Run) -> Result<(R, Outcome)>,
    ) -> Result<(R, Exit)> {
        let journal = self.journal()?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        let run = Run {
            journal: &journal,
            id: hex::encode(id),
            command: command.to_string(),
        };
        let custody = self.custody_to_record(&journal)?;
        journal.append(Record::Start(self.start_record(&run, details, custody)))?;
        let t0 = Instant::now();
        let result = f(&run);
        let mut end = End {
            run: run.id.clone(),
            command: run.command.clone(),
            duration_ms: t0.elapsed().as_millis() as u64,
            status: Status::Ok,
            exit_code: 0,
            details: None,
            error: None,
            fix: None,
        };
        match result {
            Ok((r, outcome)) => {
                // A signal that arrived after the last point where the work
                // checked for one: the work is whole, but the operator asked
                // to stop, so the run ends as interrupted.
                let exit = if crate::signal::interrupted() {
                    Exit::Interrupted
                } else {
                    outcome.exit
                };
                if exit == Exit::Interrupted {
                    end.status = Status::Interrupted;
                }
                end.exit_code = exit.code();
                end.details = Some(outcome.details);
                journal.append(Record::End(end))?;
                Ok((r, exit))
            }
            Err(e) => {
                let (status, code) = exit::classify(&e);
                end.status = status;
                end.exit_code = code.code();
                end.error = Some(format!("{e:#}"));
                end.fix = exit::fix_of(&e).map(str::to_owned);
                // The error is what the operator must see; a journal failure
                // on top of it is reported, not allowed to hide it.
                if let Err(je) = journal.append(Record::End(end)) {
                    eprintln!("ir: error: could not journal the failure: {je:#}");
                }
                Err(e)
            }
        }
    }

    /// The `start` entry of a run: argv, cwd and what chose the target.
    fn start_record(&self, run: &Run, details: Value, custody: Option<Custody>) -> Start {
        let g = &self.global;
        let esc = crate::sanitize::escape_path;
        Start {
            run: run.id.clone(),
            command: run.command.clone(),
            argv: self.argv.clone(),
            cwd: std::env::current_dir().ok().map(|d| esc(&d)),
            target: TargetRecord {
                root: esc(&g.root),
                home: g.home.as_deref().map(esc),
                config: g.config.as_deref().map(esc),
                profile: g.profile.clone(),
                env: locate::Env::from_process().0,
                hostname: Some(self.hostname()),
            },
            details: (!details.is_null()).then_some(details),
            custody: custody.map(Box::new),
        }
    }

    /// The target host's name: `--hostname`, else the root's own.
    pub fn hostname(&self) -> String {
        self.global
            .hostname
            .clone()
            .unwrap_or_else(|| self.root().hostname())
    }

    /// The custody fields this command should record: none when it gives
    /// none or only repeats the case's; the case's plus the new ones when
    /// it adds some. A field the case already holds cannot change (exit 2):
    /// custody is set once.
    fn custody_to_record(&self, journal: &Journal) -> Result<Option<Custody>> {
        let given = &self.global.custody;
        if given.is_empty() {
            return Ok(None);
        }
        let mut case = crate::journal::case_custody(journal.path()).unwrap_or_default();
        let mut added = false;
        let pairs = [
            (&given.examiner, &mut case.examiner, "--examiner"),
            (&given.case_number, &mut case.case_number, "--case-number"),
            (
                &given.evidence_number,
                &mut case.evidence_number,
                "--evidence-number",
            ),
            (&given.description, &mut case.description, "--description"),
        ];
        for (new, held, flag) in pairs {
            match (new, held.as_ref()) {
                (Some(n), Some(h)) if n != h => {
                    return Err(exit::hint(
                        format!("{flag} is already {h:?} for this case; it is set once"),
                        format!("drop {flag} (or its IR_ variable), or open a new --case"),
                    ));
                }
                (Some(n), None) => {
                    *held = Some(n.clone());
                    added = true;
                }
                _ => {}
            }
        }
        Ok(added.then_some(case))
    }
}

/// A `--home` or `--config` path as discovery should read it. Relative:
/// the examiner's, from the cwd. Absolute and already under `--root` (the
/// analyst-side path, `/mnt/img/home/a/.openclaw`): taken as it is, which
/// is that host path under the root. Otherwise it is a host path
/// (`/home/a/.openclaw`): read under `--root`, unless only the examiner's
/// machine has it (a state dir copied out of the image).
pub fn under_root(root: &Root, p: &std::path::Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if root.is_live() || !p.is_absolute() || abs.starts_with(root.dir()) {
        return abs;
    }
    let mapped = root.join(&abs);
    let exists = |q: &std::path::Path| crate::safefs::lstat(q).ok().flatten().is_some();
    if !exists(&mapped) && exists(&abs) {
        abs
    } else {
        mapped
    }
}

/// The home of the user whose state dir `state` is, when it is the
/// canonical `~/.openclaw`, `~/.openclaw-<profile>` or `~/.clawdbot`: its
/// parent, as a host path.
fn owner_home(root: &Root, state: &std::path::Path) -> Option<PathBuf> {
    let name = state.file_name()?.to_str()?;
    let canonical = name == ".openclaw" || name.starts_with(".openclaw-") || name == ".clawdbot";
    if !canonical {
        return None;
    }
    let parent = root.host_view(state.parent()?);
    (parent.is_absolute() && parent != std::path::Path::new("/")).then_some(parent)
}

/// Every configured path that is missing (under `--root`, when it is not
/// `/`), one sentence each: an agent's workspace (its prompt files, skills
/// and git hooks would silently go unexamined), `logging.file`'s dir, the
/// config itself. Defaults that are simply absent (`/tmp/openclaw` on a
/// host that never logged there) are not named.
pub fn missing_paths(dep: &Deployment, root: &Root) -> Vec<String> {
    let esc = |p: &std::path::Path| crate::sanitize::escape_path(&root.host_view(p));
    let under = if root.is_live() {
        String::new()
    } else {
        format!(" under --root {}", crate::sanitize::escape_path(root.dir()))
    };
    let mut out = Vec::new();
    if !dep.config_present
        && crate::safefs::lstat(&dep.paths.config)
            .ok()
            .flatten()
            .is_none()
    {
        out.push(format!(
            "the config {} is missing{under}: OpenClaw's defaults are assumed",
            esc(&dep.paths.config)
        ));
    }
    let mut seen: Vec<&std::path::Path> = Vec::new();
    for a in &dep.agents {
        let Some(w) = a.workspace.as_deref() else {
            continue;
        };
        if a.workspace_exists || seen.contains(&w) {
            continue;
        }
        seen.push(w);
        let agents: Vec<&str> = dep
            .agents
            .iter()
            .filter(|b| b.workspace.as_deref() == Some(w))
            .map(|b| b.id.as_str())
            .collect();
        out.push(format!(
            "the workspace {} (agent {}) is missing{under}: its prompt files (SOUL.md, AGENTS.md...), skills and git hooks are not examined; if it lives elsewhere in the image, give --home or --root so it resolves",
            esc(w),
            agents.join(", ")
        ));
    }
    for l in dep
        .logs
        .iter()
        .filter(|l| l.kind == "configured" && !l.exists)
    {
        out.push(format!(
            "the log dir {} (logging.file) is missing{under}: its logs are not examined",
            esc(&l.path)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn redacts_secrets_in_argv() {
        let r = redact_argv(&s(&[
            "ir",
            "--token",
            "abc",
            "--password=pw",
            "--set",
            "gateway.token=x",
            "--set=recipient=age1",
            "AGE-SECRET-KEY-1XYZ",
            "--passphrase-file",
            "/p",
            "--show-token",
        ]));
        assert_eq!(
            r,
            s(&[
                "ir",
                "--token",
                "<redacted>",
                "--password=<redacted>",
                "--set",
                "gateway.token=<redacted>",
                "--set=recipient=age1",
                "<redacted>",
                "--passphrase-file",
                "/p",
                "--show-token",
            ])
        );
    }
}
