//! A parallel directory walker built on `openat`, `getdents` and
//! `statx(dirfd, name)`, for scans that touch every file (the timeline).
//!
//! Resolving every path from `/` again (`lstat(full path)`, what walkdir and
//! ignore do) costs a dentry lookup per component; stat relative to the open
//! directory costs one, which is how `find` stays fast. Symlinks are never
//! followed (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`), each root's filesystem is
//! kept to when asked, and unreadable directories are reported through the
//! error callback, never fatal.
//!
//! Ctrl-C ([`crate::signal`]) stops the walk between entries: the workers
//! drop the queued directories and return, and the caller, which checks
//! the flag after [`walk`], discards the partial result.

use rustix::fs::{AtFlags, Mode, OFlags, Statx, StatxFlags};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// What the walker hands to the visitor for each entry.
pub struct Visit<'a> {
    pub dir: &'a Path,
    /// The entry's name, or `None` for a root itself (then `dir` is it).
    pub name: Option<&'a OsStr>,
    pub stat: &'a Statx,
}

impl Visit<'_> {
    /// The entry's full path (allocates).
    pub fn path(&self) -> PathBuf {
        match self.name {
            Some(n) => self.dir.join(n),
            None => self.dir.to_path_buf(),
        }
    }
}

const MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::BTIME);

fn is_dir(s: &Statx) -> bool {
    u32::from(s.stx_mode) & 0o170000 == 0o040000
}

fn dev(s: &Statx) -> (u32, u32) {
    (s.stx_dev_major, s.stx_dev_minor)
}

struct Queue {
    dirs: VecDeque<(PathBuf, (u32, u32))>,
    busy: usize,
}

/// Walks `roots` on `threads` threads, calling `visit` for every entry
/// (roots included) and `error` for what cannot be read.
pub fn walk(
    roots: &[PathBuf],
    threads: usize,
    one_fs: bool,
    visit: &(dyn Fn(&Visit) + Sync),
    error: &(dyn Fn(String) + Sync),
) {
    let q = Mutex::new(Queue {
        dirs: VecDeque::new(),
        busy: 0,
    });
    let cv = Condvar::new();
    for r in roots {
        match rustix::fs::statx(rustix::fs::CWD, r, AtFlags::SYMLINK_NOFOLLOW, MASK) {
            Ok(st) => {
                visit(&Visit {
                    dir: r,
                    name: None,
                    stat: &st,
                });
                if is_dir(&st) {
                    q.lock()
                        .expect("queue")
                        .dirs
                        .push_back((r.clone(), dev(&st)));
                }
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => error(format!("{}: {e}", crate::sanitize::escape_path(r))),
        }
    }
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let (dir, root_dev) = {
                        let mut g = q.lock().expect("queue");
                        loop {
                            if crate::signal::interrupted() {
                                g.dirs.clear();
                            }
                            if let Some(d) = g.dirs.pop_front() {
                                g.busy += 1;
                                break d;
                            }
                            if g.busy == 0 {
                                cv.notify_all();
                                return;
                            }
                            g = cv.wait(g).expect("queue");
                        }
                    };
                    let mut found = Vec::new();
                    read_dir(&dir, root_dev, one_fs, visit, error, &mut found);
                    let mut g = q.lock().expect("queue");
                    g.busy -= 1;
                    let n = found.len();
                    g.dirs.extend(found);
                    if n > 0 || g.busy == 0 {
                        cv.notify_all();
                    }
                }
            });
        }
    });
}

fn read_dir(
    dir: &Path,
    root_dev: (u32, u32),
    one_fs: bool,
    visit: &(dyn Fn(&Visit) + Sync),
    error: &(dyn Fn(String) + Sync),
    found: &mut Vec<(PathBuf, (u32, u32))>,
) {
    let fd = match rustix::fs::openat(
        rustix::fs::CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return error(format!("{}: {e}", crate::sanitize::escape_path(dir))),
    };
    let entries = match rustix::fs::Dir::read_from(&fd) {
        Ok(d) => d,
        Err(e) => return error(format!("{}: {e}", crate::sanitize::escape_path(dir))),
    };
    for ent in entries {
        if crate::signal::interrupted() {
            return;
        }
        let ent = match ent {
            Ok(e) => e,
            Err(e) => {
                error(format!("{}: {e}", crate::sanitize::escape_path(dir)));
                break;
            }
        };
        let name = ent.file_name();
        let b = name.to_bytes();
        if b == b"." || b == b".." {
            continue;
        }
        let st = match rustix::fs::statx(&fd, name, AtFlags::SYMLINK_NOFOLLOW, MASK) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => continue, // vanished meanwhile
            Err(e) => {
                error(format!(
                    "{}: {e}",
                    crate::sanitize::escape_path(&dir.join(OsStr::from_bytes(b)))
                ));
                continue;
            }
        };
        let os = OsStr::from_bytes(b);
        visit(&Visit {
            dir,
            name: Some(os),
            stat: &st,
        });
        if is_dir(&st) && (!one_fs || dev(&st) == root_dev) {
            found.push((dir.join(os), root_dev));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn visits_everything_once_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..50 {
            let sub = d.path().join(format!("d{i}"));
            std::fs::create_dir(&sub).unwrap();
            std::fs::write(sub.join("f"), "x").unwrap();
        }
        std::os::unix::fs::symlink("/", d.path().join("root")).unwrap();
        std::os::unix::fs::symlink(".", d.path().join("self")).unwrap();
        let n = AtomicUsize::new(0);
        walk(
            &[d.path().to_path_buf()],
            4,
            true,
            &|_| {
                n.fetch_add(1, Ordering::Relaxed);
            },
            &|e| panic!("{e}"),
        );
        assert_eq!(n.into_inner(), 1 + 50 * 2 + 2);
    }
}
