//! Writing tar entries exactly as we want them.
//!
//! tar-rs's convenience appenders follow symlinks by default, read a file
//! until EOF whatever the header said (a growing log corrupts the archive),
//! and write no sub-second times. So headers are built here by hand: a PAX
//! record ahead of each entry carries the nanosecond mtime/atime/ctime and,
//! when needed, a long or non-UTF-8 path or link target; the GNU header
//! carries the rest, including the sparse map of sparse files. GNU tar,
//! bsdtar, Python's tarfile and tar-rs all read this.

use std::io::{self, Read, Write};
use tar::{EntryType, GnuExtSparseHeader, Header};

/// Times and ownership of an entry.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: (i64, i64),
    pub atime: (i64, i64),
    pub ctime: (i64, i64),
}

/// One data region of a sparse file: (offset, length).
pub type Region = (u64, u64);

/// Formats one PAX record: `"<len> <key>=<value>\n"`, where `<len>` counts
/// the whole record including its own digits.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = Vec::with_capacity(len);
    r.extend_from_slice(len.to_string().as_bytes());
    r.push(b' ');
    r.extend_from_slice(key.as_bytes());
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn pax_time((s, ns): (i64, i64)) -> Vec<u8> {
    if s >= 0 {
        format!("{s}.{ns:09}").into_bytes()
    } else {
        s.to_string().into_bytes()
    }
}

/// Copies `src` into a fixed header field, cut to fit.
fn set_field(field: &mut [u8], src: &[u8]) {
    field.fill(0);
    let n = src.len().min(field.len());
    field[..n].copy_from_slice(&src[..n]);
}

/// Appends one entry. `size` is the number of data bytes `data` yields (for
/// a sparse file, the bytes of its regions only, with `real_size` the
/// logical size).
#[allow(clippy::too_many_arguments)]
pub fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &[u8],
    kind: EntryType,
    st: &Stamp,
    size: u64,
    link: Option<&[u8]>,
    sparse: Option<(&[Region], u64)>,
    data: impl Read,
) -> io::Result<()> {
    if in_long_entry(path) {
        append_gnu_long(tar, EntryType::GNULongName, path)?;
    }
    if let Some(l) = link.filter(|l| in_long_entry(l)) {
        append_gnu_long(tar, EntryType::GNULongLink, l)?;
    }
    append_pax(tar, &pax_records(path, link, st), st)?;
    let mut h = gnu_header(path, kind, st, size, link);
    let ext = match sparse {
        Some((regions, real_size)) => sparse_map(&mut h, regions, real_size),
        None => Vec::new(),
    };
    h.set_cksum();
    // Extended sparse headers sit between the header and the data; each is
    // a whole 512-byte block, so the padding tar-rs adds stays right.
    tar.append(&h, ext.as_slice().chain(data))
}

/// The PAX records of an entry: its path and link target when the GNU
/// header's 100 bytes cannot hold them, and its three nanosecond times.
fn pax_records(path: &[u8], link: Option<&[u8]>, st: &Stamp) -> Vec<u8> {
    let mut pax = Vec::new();
    let binary =
        std::str::from_utf8(path).is_err() || link.is_some_and(|l| std::str::from_utf8(l).is_err());
    if path.len() > 99 && !in_long_entry(path) {
        pax.extend(pax_record("path", path));
    }
    if let Some(l) = link.filter(|l| l.len() > 99 && !in_long_entry(l)) {
        pax.extend(pax_record("linkpath", l));
    }
    // PAX values are UTF-8 unless a hdrcharset record says otherwise; it
    // is put first, ahead of the names it covers.
    if binary && !pax.is_empty() {
        pax.splice(0..0, pax_record("hdrcharset", b"BINARY"));
    }
    pax.extend(pax_record("mtime", &pax_time(st.mtime)));
    pax.extend(pax_record("atime", &pax_time(st.atime)));
    pax.extend(pax_record("ctime", &pax_time(st.ctime)));
    pax
}

/// A long name holding a newline goes in a GNU long-name entry, not a PAX
/// record: readers that split PAX records on newlines (the tar crate among
/// them) would cut it, and every bundle of a host holding such a file
/// would fail verification. GNU tar reads both.
fn in_long_entry(name: &[u8]) -> bool {
    name.len() > 99 && name.contains(&b'\n')
}

/// Appends a GNU long-name (`L`) or long-link (`K`) entry for the next one.
fn append_gnu_long<W: Write>(
    tar: &mut tar::Builder<W>,
    kind: EntryType,
    name: &[u8],
) -> io::Result<()> {
    let mut h = Header::new_gnu();
    {
        let g = h.as_gnu_mut().expect("gnu header");
        set_field(&mut g.name, b"././@LongLink");
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_size(name.len() as u64 + 1);
    h.set_cksum();
    tar.append(&h, name.chain(&b"\0"[..]))
}

/// Appends the PAX extended header that carries `pax` for the next entry.
fn append_pax<W: Write>(tar: &mut tar::Builder<W>, pax: &[u8], st: &Stamp) -> io::Result<()> {
    let mut xh = Header::new_ustar();
    xh.set_entry_type(EntryType::XHeader);
    xh.set_path("PaxHeaders/entry")?;
    xh.set_size(pax.len() as u64);
    xh.set_mode(0o644);
    xh.set_mtime(st.mtime.0.max(0) as u64);
    xh.set_cksum();
    tar.append(&xh, pax)
}

/// The entry's GNU header, checksum not yet set. Names too long for it are
/// cut: the PAX record before it carries them whole.
fn gnu_header(path: &[u8], kind: EntryType, st: &Stamp, size: u64, link: Option<&[u8]>) -> Header {
    let mut h = Header::new_gnu();
    {
        let g = h.as_gnu_mut().expect("gnu header");
        set_field(&mut g.name, path);
        if let Some(l) = link {
            set_field(&mut g.linkname, l);
        }
    }
    h.set_entry_type(kind);
    h.set_mode(st.mode & 0o7777);
    h.set_uid(st.uid);
    h.set_gid(st.gid);
    h.set_mtime(st.mtime.0.max(0) as u64);
    h.set_size(size);
    h
}

/// Makes `h` a GNU sparse header with the file's data `regions`: the first
/// ones in the header itself, the rest in the extended sparse headers
/// returned, which must be written right after it.
fn sparse_map(h: &mut Header, regions: &[Region], real_size: u64) -> Vec<u8> {
    h.set_entry_type(EntryType::GNUSparse);
    let g = h.as_gnu_mut().expect("gnu header");
    g.set_real_size(real_size);
    // A trailing hole is marked by an empty region at the logical end;
    // without it GNU tar stops the file at the last data byte.
    let mut map: Vec<Region> = regions.to_vec();
    if map.last().is_none_or(|(o, l)| o + l < real_size) {
        map.push((real_size, 0));
    }
    for (slot, (off, len)) in g.sparse.iter_mut().zip(&map) {
        slot.set_offset(*off);
        slot.set_length(*len);
    }
    let mut rest = map.iter().skip(g.sparse.len()).peekable();
    g.set_is_extended(rest.peek().is_some());
    let mut ext = Vec::new();
    while rest.peek().is_some() {
        let mut x = GnuExtSparseHeader::new();
        for slot in x.sparse.iter_mut() {
            let Some((off, len)) = rest.next() else { break };
            slot.set_offset(*off);
            slot.set_length(*len);
        }
        x.set_is_extended(rest.peek().is_some());
        ext.extend_from_slice(x.as_bytes());
    }
    ext
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        let r = pax_record("path", b"a");
        assert_eq!(r, b"9 path=a\n");
        let long = vec![b'x'; 95];
        let r = pax_record("path", &long);
        let n: usize = std::str::from_utf8(&r[..r.iter().position(|b| *b == b' ').unwrap()])
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(n, r.len());
    }
}
