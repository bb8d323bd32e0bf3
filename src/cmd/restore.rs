//! `ir restore PATH… --from git|baseline|bundle|template`: a poisoned
//! prompt file replaced by a known-good version (`contain::known_good`
//! says where those come from), behind the evidence gate.

use crate::case::{Ctx, Outcome};
use crate::contain::known_good::{self, Candidate};
use crate::contain::prompts;
use crate::exit::Exit;
use crate::record::{RestoreRecord, Restored};
use anyhow::{Context, Result, bail};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Where a known-good prompt file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The newest clean version the workspace's git history holds.
    Git,
    /// The copy a persistence baseline kept (--baseline FILE).
    Baseline,
    /// The copy an earlier case's evidence bundle holds (--bundle FILE, -i KEY).
    Bundle,
    /// The template the installed openclaw package ships (what onboarding wrote).
    Template,
}

/// Arguments of `ir restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// Host paths of the prompt files (e.g. ~/.openclaw/workspace/SOUL.md).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where the known-good version comes from.
    #[arg(long, value_enum, default_value = "template")]
    pub from: Source,
    /// The baseline for --from baseline (ir persistence --save-baseline).
    #[arg(long, value_name = "FILE", required_if_eq("from", "baseline"))]
    pub baseline: Option<PathBuf>,
    /// The earlier case's bundle for --from bundle.
    #[arg(long, value_name = "FILE", required_if_eq("from", "bundle"))]
    pub bundle: Option<PathBuf>,
    /// How to decrypt --bundle.
    #[command(flatten)]
    pub id: crate::evidence::keys::IdentityArgs,
    /// The openclaw package dir (…/node_modules/openclaw) when the case
    /// journal and the state dir cannot say which one ran.
    #[arg(long, value_name = "DIR")]
    pub openclaw: Option<PathBuf>,
    /// Restore even when the bundle does not hold the file as it is now
    /// (journaled as forced).
    #[arg(long)]
    pub force: bool,
}

/// Restores each path, or refuses with nothing changed.
pub fn run(ctx: &Ctx, a: &RestoreArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("restore", |run| {
        let dep = ctx.discover()?;
        let root = ctx.root();
        let plan = plan(a, &root, &dep, run.journal().path())?;
        let gated: Vec<(PathBuf, PathBuf)> = plan
            .iter()
            .filter(|p| p.current.is_some())
            .map(|p| (p.local.clone(), root.host_view(&p.local)))
            .collect();
        let (_, forced) = crate::contain::gate::require(
            run.journal().path(),
            &gated,
            a.force,
            "restoring prompt files",
        )?;
        if !forced.is_empty() {
            run.event("forced", serde_json::json!({"uncovered": forced}))?;
        }
        let mut rec = RestoreRecord {
            forced,
            ..RestoreRecord::default()
        };
        for p in plan {
            prompts::write(&p.local, &p.good.content)?;
            let restored = p.record(&root);
            run.event("restored", serde_json::to_value(&restored)?)?;
            rec.restored.push(restored);
        }
        Ok((rec.clone(), Outcome::record(Exit::Ok, &rec)?))
    })?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else if !ctx.global.quiet {
        crate::output::print(&render(&r));
    }
    Ok(exit)
}

/// One file to restore: what is there now and what replaces it.
struct Planned {
    local: PathBuf,
    current: Option<Vec<u8>>,
    good: Candidate,
}

impl Planned {
    fn record(&self, root: &crate::host::Root) -> Restored {
        let current = self.current.as_deref().map(String::from_utf8_lossy);
        let new = String::from_utf8_lossy(&self.good.content);
        Restored {
            path: crate::sanitize::escape_path(&root.host_view(&self.local)),
            source: self.good.source.clone(),
            old_sha256: self.current.as_deref().map(crate::journal::sha256_hex),
            new_sha256: crate::journal::sha256_hex(&self.good.content),
            removed_lines: current
                .map(|c| prompts::diff(&c, &new).0)
                .unwrap_or_default(),
        }
    }
}

/// Reads every file and finds its known-good version before anything
/// changes, so a bad path or a flagged source refuses the whole run.
fn plan(
    a: &RestoreArgs,
    root: &crate::host::Root,
    dep: &crate::openclaw::Deployment,
    journal: &Path,
) -> Result<Vec<Planned>> {
    let locals: Vec<PathBuf> = a.paths.iter().map(|h| root.join(h)).collect();
    let goods = candidates(a, &locals, dep, journal)?;
    let mut out = Vec::new();
    for ((host, local), good) in a.paths.iter().zip(locals).zip(goods) {
        let flags = good.flags();
        if !flags.is_empty() {
            return Err(crate::exit::hint(
                format!(
                    "the {} version of {} is flagged too ({})",
                    good.source,
                    host.display(),
                    flags.join(", ")
                ),
                "restore from another source (--from git|baseline|bundle|template), or quarantine the file",
            ));
        }
        let current = match crate::safefs::read_bounded(&local, 16 << 20) {
            Ok(b) => Some(b),
            Err(e) if e.is_not_found() => None,
            Err(e) => bail!("{e}"),
        };
        out.push(Planned {
            local,
            current,
            good,
        });
    }
    Ok(out)
}

/// The known-good version of each file from the chosen source.
fn candidates(
    a: &RestoreArgs,
    locals: &[PathBuf],
    dep: &crate::openclaw::Deployment,
    journal: &Path,
) -> Result<Vec<Candidate>> {
    match a.from {
        Source::Bundle => {
            let bundle = a
                .bundle
                .as_deref()
                .context("--from bundle needs --bundle FILE")?;
            known_good::from_bundle(bundle, &a.id, &a.paths)
        }
        Source::Baseline => {
            let b = a
                .baseline
                .as_deref()
                .context("--from baseline needs --baseline FILE")?;
            a.paths
                .iter()
                .map(|h| known_good::from_baseline(b, h))
                .collect()
        }
        Source::Git => a
            .paths
            .iter()
            .zip(locals)
            .map(|(h, l)| {
                known_good::from_git(l)?.ok_or_else(|| {
                    crate::exit::hint(
                        format!(
                            "the workspace's git history holds no clean version of {}",
                            h.display()
                        ),
                        "restore --from baseline, bundle or template",
                    )
                })
            })
            .collect(),
        Source::Template => {
            let pkg = a
                .openclaw
                .clone()
                .or_else(|| crate::contain::recover::installed_package(dep, journal))
                .ok_or_else(|| {
                    crate::exit::hint(
                        "the case cannot say which openclaw package ran, so there is no template to restore from",
                        "pass --openclaw /path/to/node_modules/openclaw",
                    )
                })?;
            a.paths.iter().map(|h| template(&pkg, h)).collect()
        }
    }
}

/// The package's template for the prompt file `host`.
fn template(pkg: &Path, host: &Path) -> Result<Candidate> {
    let Some(name) = host.file_name().and_then(|n| n.to_str()) else {
        bail!("{} names no file", host.display());
    };
    if !crate::triage::persistence::PROMPT_FILES.contains(&name) {
        return Err(crate::exit::hint(
            format!(
                "{} is not a prompt file OpenClaw ships a template for",
                host.display()
            ),
            "restore one of SOUL.md, AGENTS.md, BOOT.md, BOOTSTRAP.md, TOOLS.md, HEARTBEAT.md, IDENTITY.md, USER.md from the template, anything else --from git|baseline|bundle, or quarantine it",
        ));
    }
    let content = prompts::template(pkg, name).ok_or_else(|| {
        crate::exit::hint(
            format!("{} ships no template for {name}", pkg.display()),
            "restore --from git|baseline|bundle, or quarantine the file (OpenClaw runs without it)",
        )
    })?;
    Ok(Candidate {
        source: "template".into(),
        content,
    })
}

fn render(r: &RestoreRecord) -> String {
    let mut o = String::new();
    for x in &r.restored {
        let _ = writeln!(
            o,
            "restored {} from {} (sha256 {})",
            x.path,
            x.source,
            &x.new_sha256[..16]
        );
        for l in &x.removed_lines {
            let _ = writeln!(o, "  - {l}");
        }
    }
    o
}
