//! rpm's package database, read offline: which files each installed package
//! put on disk, with the digest, mode and config flag rpm recorded for each.
//!
//! RHEL 9, Fedora 33+ and their rebuilds keep it as SQLite
//! (`/var/lib/rpm/rpmdb.sqlite`, or `/usr/lib/sysimage/rpm/` with a link
//! from the old place). Each row of `Packages` is one package's header
//! blob, big-endian: a count of index entries and the size of the data
//! store, then 16-byte entries (tag, type, offset, count), then the store.
//! A path is split into `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`. The
//! BerkeleyDB (RHEL 8) and ndb (SUSE) formats are not read.
//!
//! The blob is the host's, so it may be crafted: every offset and count is
//! checked against the store, and nothing is allocated from a count alone.

use crate::host::Root;
use std::path::PathBuf;

/// Where rpm keeps its SQLite database, newest layout first.
pub const DB_PATHS: &[&str] = &[
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/rpmdb.sqlite",
];

const TAG_NAME: u32 = 1000;
const TAG_FILEMODES: u32 = 1030;
const TAG_FILEDIGESTS: u32 = 1035;
const TAG_FILEFLAGS: u32 = 1037;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;
const TAG_FILEDIGESTALGO: u32 = 5011;

const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;

/// `%config` in `FILEFLAGS`.
const RPMFILE_CONFIG: u32 = 1;

/// Headers larger than this are skipped (the largest real ones, kernel
/// module packages, are a few MiB).
const MAX_BLOB: usize = 64 << 20;

/// The digest algorithm of a package's file digests (OpenPGP hash ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Md5,
    Sha256,
    Sha384,
    Sha512,
    Sha224,
    /// SHA-1 or an id we do not know: nothing to compare with.
    Other,
}

impl Algo {
    fn from_pgp(id: u32) -> Algo {
        match id {
            1 => Algo::Md5,
            8 => Algo::Sha256,
            9 => Algo::Sha384,
            10 => Algo::Sha512,
            11 => Algo::Sha224,
            _ => Algo::Other,
        }
    }
}

/// One file as rpm recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmFile {
    pub path: String,
    /// Hex digest; empty for directories, links and ghosts.
    pub digest: String,
    pub mode: u16,
    pub config: bool,
}

/// One installed package's name, digest algorithm and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    pub algo: Algo,
    pub files: Vec<RpmFile>,
}

/// An index entry: type, offset into the store, count.
#[derive(Clone, Copy)]
struct Entry {
    kind: u32,
    off: usize,
    count: usize,
}

/// A parsed header: its index and its data store, both borrowed.
struct Header<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
        let il = be32(blob, 0)? as usize;
        let dl = be32(blob, 4)? as usize;
        let index_end = il.checked_mul(16)?.checked_add(8)?;
        let end = index_end.checked_add(dl)?;
        Some(Header {
            index: blob.get(8..index_end)?,
            store: blob.get(index_end..end)?,
        })
    }

    fn entry(&self, tag: u32) -> Option<Entry> {
        self.index.chunks_exact(16).find_map(|e| {
            (be32(e, 0)? == tag).then_some(())?;
            Some(Entry {
                kind: be32(e, 4)?,
                off: be32(e, 8)? as usize,
                count: be32(e, 12)? as usize,
            })
        })
    }

    /// `count` NUL-terminated strings from the entry's offset.
    fn strings(&self, tag: u32) -> Option<Vec<&'a str>> {
        let e = self.entry(tag)?;
        if e.kind != TYPE_STRING_ARRAY && e.kind != TYPE_STRING {
            return None;
        }
        let mut rest = self.store.get(e.off..)?;
        let mut out = Vec::new();
        for _ in 0..e.count {
            let nul = rest.iter().position(|&b| b == 0)?;
            out.push(std::str::from_utf8(&rest[..nul]).unwrap_or(""));
            rest = &rest[nul + 1..];
        }
        Some(out)
    }

    /// Big-endian integers of `width` bytes (2 or 4).
    fn ints(&self, tag: u32, kind: u32, width: usize) -> Option<Vec<u32>> {
        let e = self.entry(tag)?;
        if e.kind != kind {
            return None;
        }
        let len = e.count.checked_mul(width)?;
        let bytes = self.store.get(e.off..e.off.checked_add(len)?)?;
        Some(
            bytes
                .chunks_exact(width)
                .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
                .collect(),
        )
    }
}

/// The files of one package header; `None` when the blob is malformed.
/// A package with no files (a meta package) has an empty list.
pub fn parse_package(blob: &[u8]) -> Option<RpmPackage> {
    let h = Header::parse(blob)?;
    let name = h.strings(TAG_NAME)?.first()?.to_string();
    let algo = h
        .ints(TAG_FILEDIGESTALGO, TYPE_INT32, 4)
        .and_then(|v| v.first().copied())
        .map_or(Algo::Md5, Algo::from_pgp);
    let Some(base) = h.strings(TAG_BASENAMES) else {
        return Some(RpmPackage {
            name,
            algo,
            files: Vec::new(),
        });
    };
    let dirs = h.strings(TAG_DIRNAMES)?;
    let dir_of = h.ints(TAG_DIRINDEXES, TYPE_INT32, 4)?;
    let digests = h.strings(TAG_FILEDIGESTS).unwrap_or_default();
    let modes = h.ints(TAG_FILEMODES, TYPE_INT16, 2).unwrap_or_default();
    let flags = h.ints(TAG_FILEFLAGS, TYPE_INT32, 4).unwrap_or_default();
    let mut files = Vec::with_capacity(base.len());
    for (i, b) in base.iter().enumerate() {
        let dir = dirs.get(*dir_of.get(i)? as usize)?;
        files.push(RpmFile {
            path: format!("{dir}{b}"),
            digest: digests.get(i).map(|s| s.to_string()).unwrap_or_default(),
            mode: modes.get(i).map_or(0, |&m| m as u16),
            config: flags.get(i).is_some_and(|f| f & RPMFILE_CONFIG != 0),
        });
    }
    Some(RpmPackage { name, algo, files })
}

/// The rpm database file under the root, when the host has one.
pub fn locate(root: &Root) -> Option<PathBuf> {
    DB_PATHS.iter().find_map(|p| {
        let host = root.resolve(std::path::Path::new(p))?;
        let local = root.join(&host);
        crate::safefs::lstat(&local)
            .ok()
            .flatten()
            .is_some_and(|m| m.file_type().is_file())
            .then_some(local)
    })
}

/// Every installed package of the rpm database under the root (malformed
/// headers skipped); `None` when there is no readable database.
pub fn load(root: &Root) -> Option<Vec<RpmPackage>> {
    let db = crate::sqlite::open_isolated(&locate(root)?).ok()?;
    let mut stmt = db.conn.prepare("SELECT blob FROM Packages").ok()?;
    let mut rows = stmt.query([]).ok()?;
    let mut out = Vec::new();
    while let Ok(Some(row)) = rows.next() {
        let Ok(blob) = row.get_ref(0).and_then(|v| Ok(v.as_blob()?)) else {
            continue;
        };
        if blob.len() <= MAX_BLOB {
            out.extend(parse_package(blob));
        }
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a header blob from (tag, type, count, data) entries, the way
    /// rpm lays them out (data appended in order, integers aligned).
    pub(crate) fn header(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store: Vec<u8> = Vec::new();
        for (tag, kind, count, data) in entries {
            let align = match *kind {
                TYPE_INT16 => 2,
                TYPE_INT32 => 4,
                _ => 1,
            };
            while store.len() % align != 0 {
                store.push(0);
            }
            for w in [*tag, *kind, store.len() as u32, *count] {
                index.extend_from_slice(&w.to_be_bytes());
            }
            store.extend_from_slice(data);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(store);
        blob
    }

    fn strs(v: &[&str]) -> Vec<u8> {
        v.iter().flat_map(|s| s.bytes().chain([0])).collect()
    }

    /// A package header for `files` as (path, sha256 hex, mode, config).
    pub(crate) fn package(name: &str, files: &[(&str, &str, u16, bool)]) -> Vec<u8> {
        let mut dirs: Vec<String> = Vec::new();
        let (mut base, mut idx, mut dig, mut modes, mut flags) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (p, d, m, c) in files {
            let (dir, b) = p.rsplit_once('/').unwrap();
            let dir = format!("{dir}/");
            let i = dirs.iter().position(|x| *x == dir).unwrap_or_else(|| {
                dirs.push(dir.clone());
                dirs.len() - 1
            });
            base.push(b.to_string());
            idx.extend_from_slice(&(i as u32).to_be_bytes());
            dig.push(d.to_string());
            modes.extend_from_slice(&m.to_be_bytes());
            flags.extend_from_slice(&u32::from(*c).to_be_bytes());
        }
        let n = files.len() as u32;
        let refs = |v: &[String]| strs(&v.iter().map(String::as_str).collect::<Vec<_>>());
        header(&[
            (TAG_NAME, TYPE_STRING, 1, strs(&[name])),
            (TAG_FILEMODES, TYPE_INT16, n, modes),
            (TAG_FILEDIGESTS, TYPE_STRING_ARRAY, n, refs(&dig)),
            (TAG_FILEFLAGS, TYPE_INT32, n, flags),
            (TAG_DIRINDEXES, TYPE_INT32, n, idx),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, n, refs(&base)),
            (
                TAG_DIRNAMES,
                TYPE_STRING_ARRAY,
                dirs.len() as u32,
                refs(&dirs),
            ),
            (
                TAG_FILEDIGESTALGO,
                TYPE_INT32,
                1,
                8u32.to_be_bytes().to_vec(),
            ),
        ])
    }

    #[test]
    fn reads_files_modes_digests_and_config_flags() {
        let blob = package(
            "shadow-utils",
            &[
                ("/usr/bin/passwd", "ab", 0o104755, false),
                ("/etc/login.defs", "cd", 0o100644, true),
                ("/usr/bin/chage", "ef", 0o100755, false),
            ],
        );
        let p = parse_package(&blob).unwrap();
        assert_eq!(p.name, "shadow-utils");
        assert_eq!(p.algo, Algo::Sha256);
        assert_eq!(
            p.files[1],
            RpmFile {
                path: "/etc/login.defs".into(),
                digest: "cd".into(),
                mode: 0o100644,
                config: true
            }
        );
        assert_eq!(p.files[0].mode & 0o7777, 0o4755);
        assert_eq!(p.files[2].path, "/usr/bin/chage");
    }

    #[test]
    fn a_package_without_files_and_broken_headers() {
        let meta = header(&[(TAG_NAME, TYPE_STRING, 1, strs(&["meta"]))]);
        assert!(parse_package(&meta).unwrap().files.is_empty());
        assert!(parse_package(&[]).is_none());
        assert!(parse_package(&[0xff; 8]).is_none());
        // A directory index pointing past DIRNAMES.
        let mut blob = package("x", &[("/a/b", "", 0, false)]);
        let n = blob.len();
        blob[n - 4 - 3..n - 4 - 1].copy_from_slice(b"zz");
        let _ = parse_package(&blob);
    }

    proptest! {
        #[test]
        fn never_panics_on_hostile_headers(blob in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_package(&blob);
        }

        #[test]
        fn never_panics_when_a_real_header_is_corrupted(pos in 0usize..400, byte in any::<u8>()) {
            let mut blob = package("p", &[("/usr/bin/x", "aa", 0o100755, false), ("/etc/y", "bb", 0o100644, true)]);
            let i = pos % blob.len();
            blob[i] = byte;
            let _ = parse_package(&blob);
        }
    }
}
