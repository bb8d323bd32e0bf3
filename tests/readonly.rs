//! Read-only means read-only: commands that examine a host leave every one
//! of its files as they found them (bytes, size, mtime and ctime), SQLite's
//! `-wal` and `-shm` included, on a stopped gateway whose databases still
//! have both (as a gateway killed hard leaves them).

use crate::util::Host;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What must not change about a file: its kind, content hash, size, mtime
/// and ctime (a chown or chmod moves the ctime; atime is left out: `ir`
/// opens with `O_NOATIME` where it may, and the test's own reads do not).
pub type Seen = (u32, Option<String>, u64, (i64, i64), (i64, i64));

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            let hash = m
                .is_file()
                .then(|| ir::journal::sha256_hex(&std::fs::read(&p).unwrap()));
            out.insert(
                p,
                (
                    m.mode(),
                    hash,
                    m.len(),
                    (m.mtime(), m.mtime_nsec()),
                    (m.ctime(), m.ctime_nsec()),
                ),
            );
        }
    }
    out
}

#[test]
fn examining_commands_change_nothing_on_the_host_wal_and_shm_included() {
    let h = Host::sqlite();
    let db = h.state().join("state/openclaw.sqlite");
    for side in ["-wal", "-shm"] {
        let mut p = db.clone().into_os_string();
        p.push(side);
        assert!(
            PathBuf::from(&p).exists(),
            "the sample must leave {side} beside the database"
        );
    }
    let keys = tempfile::tempdir().unwrap();
    let (_, recipient) = crate::collect::keypair(keys.path());
    let before = snapshot(&h.root);
    let runs: [&[&str]; 6] = [
        &["inventory"],
        &["timeline", "--since", "3650d"],
        &["hunt"],
        &["persistence"],
        &["audit"],
        &["collect", "-r", &recipient],
    ];
    for args in runs {
        let out = h.ir().args(args).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "ir {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = snapshot(&h.root);
        for (p, seen) in &before {
            assert_eq!(
                after.get(p),
                Some(seen),
                "ir {args:?} changed {}",
                p.display()
            );
        }
        let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
        assert!(added.is_empty(), "ir {args:?} created {added:?}");
    }
}
