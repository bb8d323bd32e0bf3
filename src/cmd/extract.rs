//! `ir extract BUNDLE -i IDENTITY -o DIR`: open a bundle for analysis.

use crate::evidence::extract::Extractor;
use crate::evidence::keys::IdentityArgs;
use crate::evidence::read;
use crate::exit::{self, Exit};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Arguments of `ir extract`.
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The bundle (.tar.gz.age).
    pub bundle: PathBuf,
    #[command(flatten)]
    pub id: IdentityArgs,
    /// Where to extract (must not exist, or be empty).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Keep the extraction even if the bundle fails verification.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: read::Limits,
}

/// Extracts into a temp dir beside DIR, checks every hash, then renames.
pub fn run(ctx: &crate::case::Ctx, a: &ExtractArgs) -> Result<Exit> {
    if !a.id.given() {
        return Err(exit::hint(
            "extract needs the key",
            "pass -i IDENTITY (or --passphrase for a passphrase bundle)",
        ));
    }
    if let Ok(mut rd) = std::fs::read_dir(&a.output)
        && rd.next().is_some()
    {
        return Err(exit::hint(
            format!("{} exists and is not empty", a.output.display()),
            "extract into a new directory",
        ));
    }
    let parent = a
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let tmp = tempfile::Builder::new()
        .prefix(".ir-extract-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temp dir in {}", parent.display()))?;
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let mut sink = Extractor::new(tmp.path().to_path_buf());
    // The key first: a passphrase prompt must not race the bar.
    let ids = crate::evidence::keys::identities(&a.id)?;
    let bar = crate::evidence::progress::enabled(!ctx.global.quiet && !ctx.global.json);
    let size = std::fs::symlink_metadata(&a.bundle).map_or(0, |m| m.len());
    crate::evidence::progress::phase(bar, "extracting", size);
    let read = read::read_all_with(&a.bundle, &ids, a.limits, &mut sink);
    crate::evidence::progress::finish();
    let (inner, problems) = read?;
    if !problems.is_empty() && !a.force {
        for p in &problems {
            eprintln!("ir: {}", crate::sanitize::escape(p));
        }
        return Err(exit::Refused(format!(
            "{} failed verification ({} problem(s)); nothing was extracted (--force extracts anyway)",
            a.bundle.display(),
            problems.len()
        ))
        .into());
    }
    sink.finish_times();
    let _ = std::fs::remove_dir(&a.output);
    let kept = tmp.keep();
    std::fs::rename(&kept, &a.output)
        .with_context(|| format!("renaming into {}", a.output.display()))?;
    if ctx.global.json {
        crate::output::print_json(
            &serde_json::json!({"output": a.output, "inner": inner, "problems": problems}),
        );
    } else if !ctx.global.quiet {
        crate::output::print(&format!(
            "extracted {} entries of {} into {}\n{}\n",
            inner.entries,
            inner.top,
            a.output.display(),
            if problems.is_empty() {
                "every file matches the manifest (check again with: sha256sum -c MANIFEST.sha256)"
                    .to_string()
            } else {
                format!("{} problem(s), kept because of --force", problems.len())
            }
        ));
        for p in &problems {
            eprintln!("ir: {}", crate::sanitize::escape(p));
        }
    }
    Ok(if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
