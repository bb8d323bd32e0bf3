//! The host as data: its filesystem root, processes, sockets and accounts.
//!
//! Everything here is read relative to a [`Root`], so the same code serves
//! live response (`--root /`), a mounted disk image, and tests that plant a
//! fake root with a fake `/proc`.

pub mod exec;
pub mod procfs;
pub mod users;

use std::path::{Component, Path, PathBuf};

/// Where the host's filesystem is. Host-absolute paths (`/etc/crontab`)
/// become paths on the machine running `ir` through [`Root::join`].
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    /// A root at `dir` (`/` for the live host).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root(dir.into())
    }

    /// The directory this root stands for.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// True when this is the live host's own root.
    pub fn is_live(&self) -> bool {
        self.0 == Path::new("/")
    }

    /// Maps a host path to a local one. `..` components are dropped so a
    /// crafted config value cannot climb out of the root. Under a root
    /// other than `/`, the directories on the way are followed as a chroot
    /// would ([`Root::resolve`]): the kernel would take an image's
    /// absolute link (`/home -> /var/home`) into the examiner's own
    /// filesystem. The last component is left as it is, so a caller still
    /// sees a planted link as a link.
    pub fn join(&self, host_path: impl AsRef<Path>) -> PathBuf {
        let lexical = self.lexical(host_path.as_ref());
        if self.is_live() {
            return lexical;
        }
        let host = self.host_view(&lexical);
        let (Some(parent), Some(name)) = (host.parent(), host.file_name()) else {
            return lexical;
        };
        match self.resolve(parent) {
            Some(dir) => self.lexical(&dir).join(name),
            None => lexical,
        }
    }

    /// [`Root::join`] without following anything: the names as given.
    fn lexical(&self, host_path: &Path) -> PathBuf {
        let mut out = self.0.clone();
        for c in host_path.components() {
            if let Component::Normal(n) = c {
                out.push(n);
            }
        }
        out
    }

    /// The host's name: the kernel's for the live host, else the first
    /// line of `/etc/hostname` under the root (a dead box's own name, not
    /// the examiner's), else `unknown-host`.
    pub fn hostname(&self) -> String {
        if self.is_live() {
            return rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned();
        }
        crate::safefs::read_bounded(&self.join("/etc/hostname"), 4096)
            .ok()
            .and_then(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "unknown-host".into())
    }

    /// Follows a host path under this root the way a chroot would: every
    /// symlink on the way is read (never followed by the kernel) and its
    /// target taken as a host path, so no link leads out of the root (an
    /// absolute target starts again at the root, `..` stops there). Returns
    /// the host path it ends at, which may not exist; `None` after 40 links
    /// (a loop).
    pub fn resolve(&self, host_path: &Path) -> Option<PathBuf> {
        let mut todo: Vec<PathBuf> = Vec::new();
        push_components(&mut todo, host_path);
        let mut out = PathBuf::from("/");
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if c.as_os_str() == ".." {
                out.pop();
                continue;
            }
            out.push(&c);
            let local = self.lexical(&out);
            let is_link = crate::safefs::lstat(&local)
                .ok()
                .flatten()
                .is_some_and(|m| m.file_type().is_symlink());
            if !is_link {
                continue;
            }
            links += 1;
            if links > 40 {
                return None;
            }
            let target = std::fs::read_link(&local).ok()?;
            out.pop();
            if target.is_absolute() {
                out = PathBuf::from("/");
            }
            push_components(&mut todo, &target);
        }
        Some(out)
    }

    /// Maps a local path under this root back to the host's view of it,
    /// for reports (`/mnt/img/etc/x` → `/etc/x`).
    pub fn host_view(&self, local: &Path) -> PathBuf {
        if self.is_live() {
            return local.to_path_buf();
        }
        match local.strip_prefix(&self.0) {
            Ok(rel) => Path::new("/").join(rel),
            Err(_) => local.to_path_buf(),
        }
    }
}

/// Pushes a path's normal and `..` components onto a stack, last first,
/// so popping yields them in order.
fn push_components(stack: &mut Vec<PathBuf>, p: &Path) {
    for c in p.components().rev() {
        match c {
            Component::Normal(n) => stack.push(PathBuf::from(n)),
            Component::ParentDir => stack.push(PathBuf::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_keeps_links_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = Root::new(d.path());
        std::fs::create_dir_all(d.path().join("usr/bin")).unwrap();
        std::fs::write(d.path().join("usr/bin/ls"), "x").unwrap();
        std::os::unix::fs::symlink("usr/bin", d.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("/etc/shadow", d.path().join("usr/bin/out")).unwrap();
        std::os::unix::fs::symlink("../../../../../etc", d.path().join("usr/bin/up")).unwrap();
        std::os::unix::fs::symlink("loop", d.path().join("loop")).unwrap();
        let res = |p: &str| r.resolve(Path::new(p));
        assert_eq!(res("/bin/ls"), Some(PathBuf::from("/usr/bin/ls")));
        assert_eq!(res("/bin/out"), Some(PathBuf::from("/etc/shadow")));
        assert_eq!(res("/bin/up/x"), Some(PathBuf::from("/etc/x")));
        assert_eq!(res("/loop"), None);
        // join follows the dirs on the way inside the root, not the last
        // name: a planted link stays visible as a link.
        assert_eq!(r.join("/bin/ls"), d.path().join("usr/bin/ls"));
        assert_eq!(r.join("/bin/out"), d.path().join("usr/bin/out"));
        assert_eq!(r.join("/bin/up/x"), d.path().join("etc/x"));
        assert_eq!(Root::new("/").join("/bin/ls"), PathBuf::from("/bin/ls"));
        assert_eq!(res("/no/such"), Some(PathBuf::from("/no/such")));
    }

    #[test]
    fn join_stays_under_root() {
        let r = Root::new("/mnt/img");
        assert_eq!(
            r.join("/etc/../../shadow"),
            PathBuf::from("/mnt/img/etc/shadow")
        );
        assert_eq!(
            r.host_view(Path::new("/mnt/img/etc/x")),
            PathBuf::from("/etc/x")
        );
        assert_eq!(
            Root::new("/").join("/etc/crontab"),
            PathBuf::from("/etc/crontab")
        );
    }

    #[test]
    fn hostname_is_read_from_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = Root::new(d.path());
        assert_eq!(r.hostname(), "unknown-host");
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(d.path().join("etc/hostname"), "# x\n  victim-01 \n").unwrap();
        assert_eq!(r.hostname(), "victim-01");
    }
}
