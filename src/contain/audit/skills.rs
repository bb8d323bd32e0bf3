//! Workspace skills whose `SKILL.md` resolves outside the workspace
//! (OpenClaw's `skills.workspace.symlink_escape`): a symlinked skill is a
//! classic way to make the agent load instructions from anywhere on the
//! host. The walk is OpenClaw's (breadth first under `<workspace>/skills`,
//! dot entries and `node_modules` skipped, symlinked dirs followed), but
//! every link is resolved under `--root` and the walk is bounded.

use super::Findings;
use crate::openclaw::Deployment;
use anyhow::Result;
use std::collections::{HashSet, VecDeque};
use std::path::{Component, Path, PathBuf};

/// Dirs visited and `SKILL.md` files taken per workspace, at most: OpenClaw's
/// own caps (`MAX_WORKSPACE_SKILL_SCAN_FILES_PER_WORKSPACE`, and twenty dir
/// visits per file), so that a walk cut short is one OpenClaw cuts short too
/// (`skills.workspace.scan_truncated`).
const MAX_DIRS: usize = 40_000;
const MAX_FILES: usize = 2_000;

/// `p` with every symlink resolved, absolute targets taken under `root`
/// (the host's `/`); `None` on a loop or past 40 links. `p` is a local
/// path under `root`.
pub(super) fn resolve_under(root: &Path, p: &Path) -> Option<PathBuf> {
    let rel = p.strip_prefix(root).ok()?;
    let mut todo: VecDeque<PathBuf> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(PathBuf::from(s)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::new(); // relative to root
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c.as_os_str() == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&c);
        let local = root.join(&next);
        match crate::safefs::lstat(&local).ok().flatten() {
            Some(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return None;
                }
                let t = std::fs::read_link(&local).ok()?;
                if t.is_absolute() {
                    cur = PathBuf::new();
                }
                for tc in t.components().rev() {
                    match tc {
                        Component::Normal(s) => todo.push_front(PathBuf::from(s)),
                        Component::ParentDir => todo.push_front(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            _ => cur = next,
        }
    }
    Some(root.join(cur))
}

/// Runs the skill check over every agent workspace.
pub(super) fn check(out: &mut Findings, dep: &Deployment) -> Result<()> {
    let mut seen = HashSet::new();
    let mut escaped = Vec::new();
    let mut truncated = Vec::new();
    for a in &dep.agents {
        let Some(ws) = &a.workspace else { continue };
        if !seen.insert(ws.clone()) {
            continue;
        }
        crate::signal::check()?;
        let Some(real_ws) = resolve_under(&dep.root, ws) else {
            continue;
        };
        let (files, cut) = skill_files(&dep.root, ws);
        if cut {
            truncated.push(crate::sanitize::escape_path(ws));
        }
        for skill in files {
            match resolve_under(&dep.root, &skill) {
                Some(r) if r.starts_with(&real_ws) => {}
                r => escaped.push(format!(
                    "{} -> {}",
                    crate::sanitize::escape_path(&skill),
                    r.map_or("(unresolvable)".into(), |r| crate::sanitize::escape_path(
                        &r
                    ))
                )),
            }
        }
    }
    for ws in truncated {
        out.raise(
            "skills.workspace.scan_truncated",
            format!("the skills/ walk in {ws} stopped at the visit cap; skill files past it were not checked"),
        );
    }
    if !escaped.is_empty() {
        out.raise(
            "skills.workspace.symlink_escape",
            format!(
                "skills/**/SKILL.md resolving outside the workspace: {}",
                escaped.join("; ")
            ),
        );
    }
    Ok(())
}

/// The `SKILL.md` files under `<ws>/skills`, as paths through the links,
/// and whether the walk stopped at a cap with dirs still queued.
fn skill_files(root: &Path, ws: &Path) -> (Vec<PathBuf>, bool) {
    skill_files_in(root, &ws.join("skills"))
}

/// The `SKILL.md` files under the skills dir `skills` (resolved, so real
/// paths under `root`), and whether the walk was cut short.
pub(super) fn skill_files_in(root: &Path, skills: &Path) -> (Vec<PathBuf>, bool) {
    let mut files = Vec::new();
    let skills = skills.to_path_buf();
    // OpenClaw lstats the skills dir itself: a link there is not walked.
    let is_dir = skills
        .parent()
        .and_then(|p| resolve_under(root, p))
        .zip(skills.file_name())
        .and_then(|(w, n)| crate::safefs::lstat(&w.join(n)).ok().flatten())
        .is_some_and(|m| m.is_dir());
    if !is_dir {
        return (files, false);
    }
    let mut queue = VecDeque::from([skills]);
    let mut visited = HashSet::new();
    for _ in 0..MAX_DIRS {
        if files.len() >= MAX_FILES {
            break;
        }
        let Some(dir) = queue.pop_front() else { break };
        let Some(real) = resolve_under(root, &dir) else {
            continue;
        };
        if !visited.insert(real.clone()) {
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&real) else {
            continue;
        };
        for e in rd.flatten().take(10_000) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let path = dir.join(&name);
            let Ok(t) = e.file_type() else { continue };
            let (is_dir, is_file) = if t.is_symlink() {
                match resolve_under(root, &real.join(&name))
                    .and_then(|r| crate::safefs::lstat(&r).ok().flatten())
                {
                    Some(m) => (m.is_dir(), m.is_file()),
                    None => continue,
                }
            } else {
                (t.is_dir(), t.is_file())
            };
            if is_dir {
                queue.push_back(path);
            } else if is_file && name == "SKILL.md" {
                files.push(real.join(&name));
            }
        }
    }
    let cut = !queue.is_empty();
    (files, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_under_the_root_never_out_of_it() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("ws/skills/a")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("ws/skills/a/abs")).unwrap();
        std::os::unix::fs::symlink("../../../etc", root.join("ws/skills/a/rel")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("ws/loop")).unwrap();
        let r = |p: &str| resolve_under(root, &root.join(p));
        assert_eq!(r("ws/skills/a/abs/x"), Some(root.join("etc/x")));
        assert_eq!(r("ws/skills/a/rel"), Some(root.join("etc")));
        assert_eq!(r("ws/../../../etc"), Some(root.join("etc")));
        assert_eq!(r("ws/loop"), None);
    }

    #[test]
    fn a_walk_cut_at_the_file_cap_with_dirs_left_is_truncated() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for i in 0..=MAX_FILES {
            let s = root.join(format!("ws/skills/s{i}"));
            std::fs::create_dir_all(&s).unwrap();
            std::fs::write(s.join("SKILL.md"), "x").unwrap();
        }
        let (files, cut) = skill_files(root, &root.join("ws"));
        assert_eq!(files.len(), MAX_FILES);
        assert!(cut);
        std::fs::remove_dir_all(root.join(format!("ws/skills/s{MAX_FILES}"))).unwrap();
        let (files, cut) = skill_files(root, &root.join("ws"));
        assert_eq!(files.len(), MAX_FILES);
        assert!(!cut);
        assert_eq!(skill_files(root, &root.join("none")), (Vec::new(), false));
    }
}
