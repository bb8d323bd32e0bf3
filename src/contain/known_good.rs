//! Where a known-good version of a prompt file comes from, and which one
//! to trust.
//!
//! Four sources, in the order a responder should prefer them:
//! - **git**: the workspace's own history (OpenClaw creates each workspace
//!   as a git repository). The newest committed version that the
//!   persistence rules do not flag wins, so an attacker who committed the
//!   poisoned file does not make it "known good".
//! - **baseline**: the content `ir persistence --save-baseline` kept of
//!   every prompt file when the host was trusted.
//! - **bundle**: the file as an earlier case's evidence bundle holds it,
//!   read only from a bundle that verifies whole.
//! - **template**: what the installed `openclaw` package ships and
//!   onboarding copies (a stock file is byte-identical to it).
//!
//! Every source yields a [`Candidate`] that is judged by the same content
//! rules as the file on the host before it may replace it.

use crate::gitread::Repo;
use crate::record::Baseline;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// How far up from a prompt file the workspace's `.git` is looked for.
const MAX_UP: usize = 4;
/// How many commits of history are read.
const MAX_COMMITS: usize = 500;

/// A known-good version of one file.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What the journal records as the source ("git commit 1a2b3c4d…").
    pub source: String,
    pub content: Vec<u8>,
}

impl Candidate {
    /// The content flags of this version (empty when it is clean).
    pub fn flags(&self) -> Vec<&'static str> {
        crate::triage::persistence::text_flags(&String::from_utf8_lossy(&self.content))
    }
}

/// The repository holding `local` and the file's path inside it.
fn repo_of(local: &Path) -> Option<(Repo, String)> {
    let mut dir = local.parent()?;
    for _ in 0..MAX_UP {
        if let Some(repo) = Repo::open(dir) {
            let rel = local.strip_prefix(dir).ok()?.to_str()?.to_string();
            return Some((repo, rel));
        }
        dir = dir.parent()?;
    }
    None
}

/// The newest committed version of `local` that carries no content flag;
/// `None` when the file is not in a repository with such a version.
pub fn from_git(local: &Path) -> Result<Option<Candidate>> {
    let Some((repo, rel)) = repo_of(local) else {
        return Ok(None);
    };
    let versions = repo
        .versions(&rel, MAX_COMMITS)
        .with_context(|| format!("reading the git history of {}", local.display()))?;
    Ok(versions
        .into_iter()
        .map(|v| Candidate {
            source: format!(
                "git commit {} ({}, {:?})",
                &v.commit.hex()[..12],
                chrono::DateTime::from_timestamp(v.time, 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                crate::sanitize::escape(&v.summary)
            ),
            content: v.content,
        })
        .find(|c| c.flags().is_empty()))
}

/// The version a baseline kept of the host path `host`.
pub fn from_baseline(baseline: &Path, host: &Path) -> Result<Candidate> {
    let b = read_baseline(baseline)?;
    let want = crate::sanitize::escape_path(host);
    let kept = b.prompt_files.iter().find(|k| k.path == want).ok_or_else(|| {
        crate::exit::hint(
            format!("{} keeps no copy of {want}", baseline.display()),
            "give a baseline saved with this ir (ir persistence --save-baseline FILE on a trusted host), or another --from",
        )
    })?;
    let content = kept.content().with_context(|| {
        format!(
            "{}: the copy of {want} is not valid base64",
            baseline.display()
        )
    })?;
    if crate::journal::sha256_hex(&content) != kept.sha256 {
        bail!(
            "{}: the copy of {want} does not match its own sha256",
            baseline.display()
        );
    }
    Ok(Candidate {
        source: format!(
            "baseline {} ({})",
            crate::sanitize::escape_path(baseline),
            b.created
        ),
        content,
    })
}

/// A copy of every prompt file of the deployment's workspaces, for a
/// baseline (files over 1 MiB are not prompt files anyone wrote by hand,
/// and are left out).
pub fn keep_prompt_files(
    dep: &crate::openclaw::Deployment,
    root: &crate::host::Root,
) -> Vec<crate::record::KeptFile> {
    let everything = crate::triage::window::Window {
        since_ns: 0,
        until_ns: i128::MAX,
    };
    crate::triage::persistence::prompt_file_items(dep, root, &everything)
        .into_iter()
        .filter_map(|i| {
            let raw = crate::sanitize::unescape_bytes(&i.path)?;
            let host =
                Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&raw));
            let data = crate::safefs::read_bounded(&root.join(host), 1 << 20).ok()?;
            Some(crate::record::KeptFile::new(i.path, &data))
        })
        .collect()
}

/// A baseline file, typed.
pub fn read_baseline(p: &Path) -> Result<Baseline> {
    let text = crate::safefs::read_bounded(p, 256 << 20).map_err(|e| anyhow::anyhow!("{e}"))?;
    serde_json::from_slice(&text).map_err(|e| {
        crate::exit::hint(
            format!(
                "{} is not a baseline written by ir persistence --save-baseline: {e}",
                p.display()
            ),
            "give the file that ir persistence --save-baseline wrote",
        )
    })
}

/// The versions an earlier case's bundle holds of `hosts`, read only when
/// the whole bundle verifies.
pub fn from_bundle(
    bundle: &Path,
    id: &crate::evidence::keys::IdentityArgs,
    hosts: &[PathBuf],
) -> Result<Vec<Candidate>> {
    let mut sink = Pick {
        want: hosts.iter().map(|h| member(h)).collect(),
        got: vec![None; hosts.len()],
    };
    let (_, problems) = crate::evidence::read::read_all(bundle, id, Default::default(), &mut sink)?;
    if !problems.is_empty() {
        return Err(crate::exit::hint(
            format!(
                "{} does not verify ({}), so nothing is taken from it",
                bundle.display(),
                problems.join("; ")
            ),
            "run ir verify on it, and restore from another bundle or --from git|baseline|template",
        ));
    }
    let label = crate::sanitize::escape_path(bundle);
    hosts
        .iter()
        .zip(sink.got)
        .map(|(h, got)| {
            let content = got.ok_or_else(|| {
                crate::exit::hint(
                    format!("{label} holds no copy of {}", h.display()),
                    "give a bundle collected when the file was in scope, or another --from",
                )
            })?;
            Ok(Candidate {
                source: format!("bundle {label}"),
                content,
            })
        })
        .collect()
}

/// The name a host file has below a bundle's top folder.
fn member(host: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let raw = host.as_os_str().as_bytes();
    let mut m = b"files/".to_vec();
    m.extend_from_slice(raw.strip_prefix(b"/").unwrap_or(raw));
    m
}

/// A bundle sink that keeps the wanted members (bounded) and hashes all.
struct Pick {
    want: Vec<Vec<u8>>,
    got: Vec<Option<Vec<u8>>>,
}

impl crate::evidence::read::Sink for Pick {
    fn entry(
        &mut self,
        rel: &[u8],
        _: &crate::evidence::tarr::Member,
        e: &mut dyn std::io::Read,
        hasher: &mut sha2::Sha256,
    ) -> Result<()> {
        let slot = self.want.iter().position(|w| w == rel);
        let keep = if slot.is_some() { 16 << 20 } else { 0 };
        let kept = crate::evidence::read::hash_keeping(e, hasher, keep)?;
        if let Some(i) = slot {
            self.got[i] = Some(kept);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_members_are_named_as_collect_names_them() {
        assert_eq!(
            member(Path::new("/root/.openclaw/workspace/SOUL.md")),
            b"files/root/.openclaw/workspace/SOUL.md"
        );
    }
}
