//! `ir restore PATH… --from template`: a poisoned prompt file replaced by
//! its known-good version, behind the evidence gate.

use crate::case::{Ctx, Outcome};
use crate::contain::prompts;
use crate::exit::Exit;
use crate::record::{RestoreRecord, Restored};
use anyhow::{Result, bail};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Where a known-good prompt file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
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
        let dep = crate::openclaw::discover(&ctx.target())?;
        let root = ctx.root();
        let pkg = a
            .openclaw
            .clone()
            .or_else(|| crate::contain::recover::installed_package(&dep, run.journal().path()))
            .ok_or_else(|| {
                crate::exit::hint(
                    "the case cannot say which openclaw package ran, so there is no template to restore from",
                    "pass --openclaw /path/to/node_modules/openclaw",
                )
            })?;
        let plan = plan(&a.paths, &root, &pkg)?;
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
            prompts::write(&p.local, &p.content)?;
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
    content: Vec<u8>,
}

impl Planned {
    fn record(&self, root: &crate::host::Root) -> Restored {
        let current = self.current.as_deref().map(String::from_utf8_lossy);
        let new = String::from_utf8_lossy(&self.content);
        Restored {
            path: crate::sanitize::escape_path(&root.host_view(&self.local)),
            source: "template".into(),
            old_sha256: self.current.as_deref().map(crate::journal::sha256_hex),
            new_sha256: crate::journal::sha256_hex(&self.content),
            removed_lines: current
                .map(|c| prompts::diff(&c, &new).0)
                .unwrap_or_default(),
        }
    }
}

/// Reads every file and finds its template before anything changes, so a
/// bad path refuses the whole run.
fn plan(paths: &[PathBuf], root: &crate::host::Root, pkg: &Path) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    for host in paths {
        let local = root.join(host);
        let Some(name) = local.file_name().and_then(|n| n.to_str()) else {
            bail!("{} names no file", host.display());
        };
        if !crate::triage::persistence::PROMPT_FILES.contains(&name) {
            return Err(crate::exit::hint(
                format!(
                    "{} is not a prompt file OpenClaw ships a template for",
                    host.display()
                ),
                "restore one of SOUL.md, AGENTS.md, BOOT.md, BOOTSTRAP.md, TOOLS.md, HEARTBEAT.md, IDENTITY.md, USER.md; quarantine anything else",
            ));
        }
        let content = prompts::template(pkg, name).ok_or_else(|| {
            crate::exit::hint(
                format!("{} ships no template for {name}", pkg.display()),
                "quarantine the file instead (OpenClaw runs without it)",
            )
        })?;
        let current = match crate::safefs::read_bounded(&local, 16 << 20) {
            Ok(b) => Some(b),
            Err(e) if e.is_not_found() => None,
            Err(e) => bail!("{e}"),
        };
        out.push(Planned {
            local,
            current,
            content,
        });
    }
    Ok(out)
}

fn render(r: &RestoreRecord) -> String {
    let mut o = String::new();
    for x in &r.restored {
        let _ = writeln!(
            o,
            "restored {} from the {} (sha256 {})",
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
