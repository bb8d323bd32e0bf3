//! Stamps the binary with the commit it was built from, for `ir --version`:
//! `ir 0.1.0 (abc1234 2026-11-26)`. A responder (or a court) can then tie a
//! binary found on a host, or shipped to one, to the exact source.
//!
//! The commit comes from `/usr/bin/git` (an absolute path, never `PATH`),
//! and only when this package's own dir is a checkout (`.git` here): a
//! source tarball unpacked inside some other repository must not borrow
//! that repository's commit. Elsewhere `IR_GIT_COMMIT` is used, else
//! `unknown`. A `+dirty` suffix marks a build whose sources (src/, build.rs,
//! Cargo.toml, Cargo.lock) differ from the commit.
//!
//! Cargo reruns this script only when HEAD moves: `.git/HEAD` and the one
//! ref it points to are watched (in a git worktree `.git` is a file naming
//! the real git dir, and refs live in the shared common dir), plus the
//! sources that decide `+dirty`. Other branches moving (other worktrees
//! share the refs dir) never trigger a rebuild.

use std::path::{Path, PathBuf};
use std::process::Command;

const GIT: &str = "/usr/bin/git";
/// Sources whose edits make the build `+dirty`; watched for that reason.
const SOURCES: &[&str] = &["src", "build.rs", "Cargo.toml", "Cargo.lock"];

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-env-changed=IR_GIT_COMMIT");
    let stamp = match git_dir(&dir) {
        Some(gd) => {
            watch_head(&gd);
            for s in SOURCES {
                println!("cargo:rerun-if-changed={s}");
            }
            git_stamp(&dir).or_else(env_stamp)
        }
        None => env_stamp(),
    };
    let stamp = stamp.unwrap_or_else(|| "unknown".into());
    let version = std::env::var("CARGO_PKG_VERSION").expect("set by cargo");
    println!("cargo:rustc-env=IR_GIT_COMMIT={stamp}");
    println!("cargo:rustc-env=IR_VERSION_LONG={version} ({stamp})");
}

/// The git dir of a checkout at `dir`: `.git` itself, or where a `.git`
/// file (a worktree or submodule) points.
fn git_dir(dir: &Path) -> Option<PathBuf> {
    let dot = dir.join(".git");
    let meta = std::fs::symlink_metadata(&dot).ok()?;
    if meta.is_dir() {
        return Some(dot);
    }
    let text = std::fs::read_to_string(&dot).ok()?;
    let target = text.strip_prefix("gitdir:")?.trim();
    Some(dir.join(target))
}

/// Watches HEAD and the ref it names, so a commit or checkout reruns us.
fn watch_head(git_dir: &Path) {
    let head = git_dir.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    let Ok(text) = std::fs::read_to_string(&head) else {
        return;
    };
    let Some(name) = text.strip_prefix("ref:").map(str::trim) else {
        return; // detached: HEAD holds the commit itself
    };
    // A worktree's refs live in the common dir (its `commondir` file).
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.to_path_buf());
    for base in [git_dir, common.as_path()] {
        let loose = base.join(name);
        if loose.is_file() {
            println!("cargo:rerun-if-changed={}", loose.display());
            return;
        }
    }
    // A packed ref: a commit rewrites packed-refs or writes the loose file
    // into the ref's dir. (A missing watched path would rerun every build.)
    let packed = common.join("packed-refs");
    if packed.is_file() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
    if let Some(parent) = common.join(name).parent().filter(|p| p.is_dir()) {
        println!("cargo:rerun-if-changed={}", parent.display());
    }
}

/// `abc1234 2026-11-26` (commit date in UTC), `+dirty` when the sources differ.
fn git_stamp(dir: &Path) -> Option<String> {
    let out = git(dir)
        .args([
            "log",
            "-1",
            "--date=format-local:%Y-%m-%d",
            "--format=%h %cd",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let stamp = clean(&String::from_utf8_lossy(&out.stdout))?;
    let dirty = git(dir)
        .args(["status", "--porcelain", "--untracked-files=no", "--"])
        .args(SOURCES)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{stamp}+dirty")
    } else {
        stamp
    })
}

/// git at `dir`, in UTC, deaf to a `GIT_DIR` a hook may have set.
fn git(dir: &Path) -> Command {
    let mut c = Command::new(GIT);
    c.arg("-C")
        .arg(dir)
        .env("TZ", "UTC")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    c
}

/// `IR_GIT_COMMIT`, for builds outside a checkout.
fn env_stamp() -> Option<String> {
    clean(&std::env::var("IR_GIT_COMMIT").ok()?)
}

/// One short printable line, or nothing.
fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty() && s.len() <= 80 && s.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    ok.then(|| s.to_string())
}
