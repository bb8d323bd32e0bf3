//! A streaming reader for the tar archive inside a bundle, written for
//! hostile input.
//!
//! A bundle comes back from wherever it was kept, so every byte of it may
//! have been crafted. The `tar` crate was not built for that: it splits PAX
//! records on newlines (one file name with a newline made every bundle of a
//! host unreadable), materialises sparse members byte by byte (a 685-byte
//! bundle claimed a 1 TiB file), re-reads GNU sparse extension headers
//! quadratically, and holds any long name whole (256 MB). This reader:
//!
//! - reads PAX records by their length field, never by line;
//! - bounds every name (GNU long name, PAX path) and every PAX header, and
//!   skips an oversized one without holding it, refusing only its member;
//! - reads a GNU sparse map linearly, at most [`MAX_REGIONS`] regions, and
//!   yields holes as zeros from a fixed buffer, so nothing grows with the
//!   size a member claims;
//! - checks for Ctrl-C inside every loop that may be long.
//!
//! It yields only what `verify` and `extract` need: name, link target,
//! kind, the logical size and the data regions.

use anyhow::{Result, bail};
use std::io::{self, Read};

/// Longest member name or link target accepted. Linux paths are at most
/// 4096 bytes; escaped and prefixed by the bundle's folders they stay far
/// below this.
pub const MAX_NAME: u64 = 64 << 10;
/// Largest PAX extended header accepted (ir writes a few hundred bytes).
pub const MAX_PAX: u64 = 1 << 20;
/// Most data regions in one sparse member (collect writes at most 100,000).
pub const MAX_REGIONS: usize = 100_000;

const BLOCK: usize = 512;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
    CharDevice,
    BlockDevice,
    /// Any other type flag.
    Other(u8),
}

/// One member's header, with its extensions (long names, PAX, sparse map)
/// already applied.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: Vec<u8>,
    pub link: Option<Vec<u8>>,
    pub kind: Kind,
    /// The logical size: what reading the member yields (holes included).
    pub size: u64,
    /// The bytes the archive stores for it (less than `size` when sparse).
    pub stored: u64,
    /// A sparse member's data regions, (offset, length), ascending.
    pub sparse: Option<Vec<(u64, u64)>>,
    /// Why this member must not be used, when its header breaks a bound or
    /// is inconsistent. Its data is skipped; the archive reads on.
    pub refused: Option<String>,
}

/// A tar stream read member by member.
pub struct Archive<R: Read> {
    r: R,
    /// Stored bytes of the current member not yet read, then its padding.
    left: u64,
    pad: u64,
    ended: bool,
}

/// Extensions that apply to the next real member.
#[derive(Default)]
struct Pending {
    name: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    refused: Option<String>,
}

impl<R: Read> Archive<R> {
    pub fn new(r: R) -> Self {
        Archive {
            r,
            left: 0,
            pad: 0,
            ended: false,
        }
    }

    /// The next member, or `None` at the end of the archive. An error means
    /// the stream cannot be followed any further (truncated, corrupt).
    pub fn next_member(&mut self) -> Result<Option<Member>> {
        self.skip_rest()?;
        let mut pending = Pending::default();
        loop {
            crate::signal::check()?;
            if self.ended {
                return Ok(None);
            }
            let Some(h) = self.header()? else {
                self.ended = true;
                return Ok(None);
            };
            let size = number(&h[124..136]).ok_or_else(|| bad("size"))?;
            match h[156] {
                b'L' => {
                    let v = self.extension(size, MAX_NAME, "long name", &mut pending)?;
                    pending.name = v.map(|v| cstr(&v).to_vec());
                }
                b'K' => {
                    let v = self.extension(size, MAX_NAME, "long link", &mut pending)?;
                    pending.link = v.map(|v| cstr(&v).to_vec());
                }
                b'x' => {
                    if let Some(pax) = self.extension(size, MAX_PAX, "PAX header", &mut pending)? {
                        apply_pax(&pax, &mut pending);
                    }
                }
                b'g' => self.skip(size)?,
                _ => return self.member(&h, size, pending).map(Some),
            }
        }
    }

    /// Reads one header block; `None` at the end marker (or a clean end of
    /// the stream where the marker should be).
    fn header(&mut self) -> Result<Option<[u8; BLOCK]>> {
        let mut h = [0u8; BLOCK];
        if !read_block(&mut self.r, &mut h)? {
            return Ok(None);
        }
        if h.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let want = number(&h[148..156]).ok_or_else(|| bad("checksum"))?;
        // The checksum field counts as eight spaces; some writers summed
        // signed bytes.
        let (mut unsigned, mut signed) = (8 * 32u64, 8 * 32i64);
        // A plain loop: this runs for every member, and iterator adapters
        // cost tenfold in the debug builds the tests run.
        let mut i = 0;
        while i < BLOCK {
            if i == 148 {
                i = 156;
            }
            unsigned += u64::from(h[i]);
            signed += i64::from(h[i] as i8);
            i += 1;
        }
        if want != unsigned && want as i64 != signed {
            bail!("a header's checksum does not match (the archive is corrupt)");
        }
        Ok(Some(h))
    }

    /// Reads an extension's data when it is within `max`; otherwise skips
    /// it and marks the next member refused.
    fn extension(
        &mut self,
        size: u64,
        max: u64,
        what: &str,
        pending: &mut Pending,
    ) -> Result<Option<Vec<u8>>> {
        if size > max {
            self.skip(size)?;
            pending.refused = Some(format!("its {what} is {size} bytes (at most {max})"));
            return Ok(None);
        }
        let mut data = vec![0u8; size as usize];
        self.r.read_exact(&mut data).map_err(truncated)?;
        self.skip_raw(padding(size))?;
        Ok(Some(data))
    }

    /// Builds the member from its header and pending extensions, reading a
    /// sparse map's extension blocks when there are any.
    fn member(&mut self, h: &[u8; BLOCK], size: u64, p: Pending) -> Result<Member> {
        let mut refused = p.refused;
        let stored = p.size.unwrap_or(size);
        let (kind, mut logical, mut sparse) = (kind_of(h[156]), stored, None);
        if h[156] == b'S' {
            match self.sparse_map(h)? {
                Ok((regions, real)) => match check_regions(&regions, real, stored) {
                    Ok(()) => (logical, sparse) = (real, Some(regions)),
                    Err(why) => refused = refused.or(Some(why)),
                },
                Err(why) => refused = refused.or(Some(why)),
            }
        }
        self.left = stored;
        self.pad = padding(stored);
        Ok(Member {
            name: p.name.unwrap_or_else(|| header_name(h)),
            link: p.link.or_else(|| link_name(h)),
            kind,
            size: logical,
            stored,
            sparse,
            refused,
        })
    }

    /// A GNU sparse header's regions (four in the header, 21 in each
    /// extension block) and real size. Regions past [`MAX_REGIONS`] are
    /// read and dropped, so the stream stays aligned; the member is then
    /// refused (the inner `Err`).
    fn sparse_map(&mut self, h: &[u8; BLOCK]) -> Result<Result<(Vec<u64x2>, u64), String>> {
        let mut regions = Vec::new();
        let mut count = 0usize;
        let mut push = |field: &[u8], regions: &mut Vec<u64x2>| -> Result<()> {
            let (o, n) = (number(&field[..12]), number(&field[12..24]));
            let (Some(o), Some(n)) = (o, n) else {
                return Err(bad("sparse map"));
            };
            if o == 0 && n == 0 && field.iter().all(|b| *b == 0) {
                return Ok(());
            }
            count += 1;
            if regions.len() < MAX_REGIONS {
                regions.push((o, n));
            }
            Ok(())
        };
        for i in 0..4 {
            push(&h[386 + i * 24..410 + i * 24], &mut regions)?;
        }
        let mut extended = h[482] != 0;
        while extended {
            crate::signal::check()?;
            let mut b = [0u8; BLOCK];
            if !read_block(&mut self.r, &mut b)? {
                bail!("the archive ends inside a sparse map (truncated)");
            }
            for i in 0..21 {
                push(&b[i * 24..(i + 1) * 24], &mut regions)?;
            }
            extended = b[504] != 0;
        }
        let real = number(&h[483..495]).ok_or_else(|| bad("sparse real size"))?;
        if count > MAX_REGIONS {
            return Ok(Err(format!(
                "its sparse map has {count} regions (at most {MAX_REGIONS})"
            )));
        }
        Ok(Ok((regions, real)))
    }

    /// Skips `n` stored bytes and their padding.
    fn skip(&mut self, n: u64) -> Result<()> {
        self.skip_raw(n.saturating_add(padding(n)))
    }

    /// Skips what is left of the current member.
    fn skip_rest(&mut self) -> Result<()> {
        let n = self.left + self.pad;
        (self.left, self.pad) = (0, 0);
        self.skip_raw(n)
    }

    fn skip_raw(&mut self, mut n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let mut buf = [0u8; 1 << 14];
        while n > 0 {
            crate::signal::check()?;
            let want = n.min(buf.len() as u64) as usize;
            self.r.read_exact(&mut buf[..want]).map_err(truncated)?;
            n -= want as u64;
        }
        Ok(())
    }

    /// A reader over the current member's logical content: stored bytes in
    /// their regions, zeros in the holes.
    pub fn data<'a>(&'a mut self, m: &'a Member) -> Data<'a, R> {
        Data {
            ar: self,
            regions: m.sparse.as_deref().unwrap_or(&[]),
            sparse: m.sparse.is_some(),
            pos: 0,
            size: if m.refused.is_some() { 0 } else { m.size },
        }
    }
}

#[allow(non_camel_case_types)]
type u64x2 = (u64, u64);

/// The logical content of one member.
pub struct Data<'a, R: Read> {
    ar: &'a mut Archive<R>,
    regions: &'a [u64x2],
    sparse: bool,
    pos: u64,
    size: u64,
}

/// Zeros handed out for holes: a fixed buffer, never one the size of a hole.
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

impl<R: Read> Data<'_, R> {
    /// Bytes of the hole starting at `pos`, or 0 when `pos` is in a region.
    fn hole_here(&mut self) -> u64 {
        while let Some(&(o, n)) = self.regions.first() {
            if self.pos >= o + n {
                self.regions = &self.regions[1..];
                continue;
            }
            return o.saturating_sub(self.pos);
        }
        self.size - self.pos
    }
}

impl<R: Read> Read for Data<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        if crate::signal::interrupted() {
            return Err(io::Error::other("interrupted by a signal"));
        }
        let mut room = (buf.len() as u64).min(self.size - self.pos);
        if self.sparse {
            let hole = self.hole_here();
            if hole > 0 {
                let n = room.min(hole).min(ZEROS.len() as u64) as usize;
                buf[..n].copy_from_slice(&ZEROS[..n]);
                self.pos += n as u64;
                return Ok(n);
            }
            let (o, l) = self.regions[0];
            room = room.min(o + l - self.pos);
        }
        let room = room.min(self.ar.left) as usize;
        if room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the member's stored data runs out before its size",
            ));
        }
        let n = self.ar.r.read(&mut buf[..room])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a member (truncated)",
            ));
        }
        self.ar.left -= n as u64;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Regions must ascend without overlap, end within the real size, and
/// add up to what is stored.
fn check_regions(regions: &[u64x2], real: u64, stored: u64) -> Result<(), String> {
    let mut end = 0u64;
    let mut sum = 0u64;
    for &(o, n) in regions {
        let e = o.checked_add(n).ok_or("a sparse region overflows")?;
        if o < end || e > real {
            return Err("its sparse map is out of order or past its size".into());
        }
        end = e;
        sum = sum.saturating_add(n);
    }
    if sum != stored {
        return Err(format!(
            "its sparse map holds {sum} bytes but {stored} are stored"
        ));
    }
    Ok(())
}

/// Applies a PAX header's records, read by their length field. A PAX
/// sparse map (which ir never writes) or a malformed record refuses the
/// member.
fn apply_pax(mut data: &[u8], p: &mut Pending) {
    while !data.is_empty() {
        let Some((key, value, rest)) = pax_record(data) else {
            p.refused
                .get_or_insert_with(|| "its PAX header is malformed".into());
            return;
        };
        data = rest;
        match key {
            b"path" => p.name = Some(value.to_vec()),
            b"linkpath" => p.link = Some(value.to_vec()),
            b"size" => match std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) {
                Some(n) => p.size = Some(n),
                None => {
                    p.refused
                        .get_or_insert_with(|| "its PAX size is not a number".into());
                }
            },
            k if k.starts_with(b"GNU.sparse.") => {
                p.refused.get_or_insert_with(|| {
                    "it uses a PAX sparse map, which ir never writes".into()
                });
            }
            _ => {}
        }
    }
}

/// One `"<len> <key>=<value>\n"` record: key, value and the rest. `<len>`
/// counts the whole record, so a value may hold newlines.
pub fn pax_record(data: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let sp = data.iter().take(20).position(|b| *b == b' ')?;
    let len: usize = std::str::from_utf8(&data[..sp]).ok()?.parse().ok()?;
    if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
        return None;
    }
    let body = &data[sp + 1..len - 1];
    let eq = body.iter().position(|b| *b == b'=')?;
    Some((&body[..eq], &body[eq + 1..], &data[len..]))
}

fn kind_of(flag: u8) -> Kind {
    match flag {
        b'0' | 0 | b'7' | b'S' => Kind::File,
        b'1' => Kind::Hardlink,
        b'2' => Kind::Symlink,
        b'3' => Kind::CharDevice,
        b'4' => Kind::BlockDevice,
        b'5' => Kind::Dir,
        b'6' => Kind::Fifo,
        other => Kind::Other(other),
    }
}

/// The name field, with the ustar prefix when the header is POSIX ustar
/// (GNU headers keep times where ustar keeps the prefix).
fn header_name(h: &[u8; BLOCK]) -> Vec<u8> {
    let name = cstr(&h[..100]);
    if &h[257..263] == b"ustar\0" {
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            return [prefix, b"/", name].concat();
        }
    }
    name.to_vec()
}

fn link_name(h: &[u8; BLOCK]) -> Option<Vec<u8>> {
    let l = cstr(&h[157..257]);
    (!l.is_empty()).then(|| l.to_vec())
}

fn cstr(f: &[u8]) -> &[u8] {
    &f[..f.iter().position(|b| *b == 0).unwrap_or(f.len())]
}

/// A numeric field: octal (spaces and NULs around it), or GNU base-256
/// when the high bit of the first byte is set. `None` when malformed or
/// negative.
pub fn number(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|b| b & 0x80 != 0) {
        if f[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = u64::from(f[0] & 0x3f);
        for b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let s = f
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == 0)
        .take_while(|b| *b != b' ' && *b != 0)
        .collect::<Vec<u8>>();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&s).ok()?, 8).ok()
}

fn padding(n: u64) -> u64 {
    (BLOCK as u64 - n % BLOCK as u64) % BLOCK as u64
}

/// Reads a whole block; `false` on a clean end of stream before it.
fn read_block(r: &mut impl Read, b: &mut [u8; BLOCK]) -> Result<bool> {
    let mut got = 0;
    while got < BLOCK {
        match r.read(&mut b[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => bail!("the archive ends inside a header (truncated)"),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

fn bad(field: &str) -> anyhow::Error {
    anyhow::anyhow!("a header's {field} field is malformed (the archive is corrupt)")
}

fn truncated(e: io::Error) -> anyhow::Error {
    anyhow::Error::new(e).context("the archive ends early (truncated)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::tarw::{self, Stamp};
    use proptest::prelude::*;
    use tar::EntryType as T;

    fn stamp() -> Stamp {
        Stamp {
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: (1, 0),
            atime: (1, 0),
            ctime: (1, 0),
        }
    }

    /// Every member of `bytes`: (name, link, kind, logical content).
    fn read_all(bytes: &[u8]) -> Result<Vec<(Member, Vec<u8>)>> {
        let mut ar = Archive::new(bytes);
        let mut out = Vec::new();
        while let Some(m) = ar.next_member()? {
            let mut data = Vec::new();
            ar.data(&m).read_to_end(&mut data)?;
            out.push((m, data));
        }
        Ok(out)
    }

    fn build(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        f(&mut b);
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_what_collect_writes_names_links_and_sparse_files() {
        let long = [b"top/files/".as_slice(), &[b'x'; 150], b"\nevil"].concat();
        let pax_long = [b"top/files/".as_slice(), &[b'y'; 150]].concat();
        let bytes = build(|b| {
            tarw::append(b, &long, T::Regular, &stamp(), 3, None, None, &b"abc"[..]).unwrap();
            tarw::append(b, &pax_long, T::Regular, &stamp(), 1, None, None, &b"z"[..]).unwrap();
            tarw::append(
                b,
                b"top/l",
                T::Symlink,
                &stamp(),
                0,
                Some(b"/etc"),
                None,
                io::empty(),
            )
            .unwrap();
            let regions = [(4u64, 2u64), (10, 1)];
            tarw::append(
                b,
                b"top/s",
                T::Regular,
                &stamp(),
                3,
                None,
                Some((&regions, 16)),
                &b"ABC"[..],
            )
            .unwrap();
        });
        let got = read_all(&bytes).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(
            (got[0].0.name.clone(), got[0].1.clone()),
            (long, b"abc".to_vec())
        );
        assert_eq!(got[1].0.name, pax_long);
        assert_eq!(
            (got[2].0.kind, got[2].0.link.as_deref()),
            (Kind::Symlink, Some(&b"/etc"[..]))
        );
        assert_eq!(got[3].1, b"\0\0\0\0AB\0\0\0\0C\0\0\0\0\0");
        assert_eq!((got[3].0.size, got[3].0.stored), (16, 3));
    }

    /// A PAX header with one record, then a one-byte member `top/short`.
    fn pax_then_member(key: &str, value: &[u8]) -> Vec<u8> {
        build(|b| {
            let rec = tarw::pax_record(key, value);
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(T::XHeader);
            h.set_size(rec.len() as u64);
            h.set_cksum();
            b.append(&h, &rec[..]).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_path("top/short").unwrap();
            h.set_size(1);
            h.set_cksum();
            b.append(&h, &b"q"[..]).unwrap();
        })
    }

    #[test]
    fn a_pax_path_with_a_newline_is_read_by_its_length() {
        let name = b"top/files/a\nb".to_vec();
        let bytes = pax_then_member("path", &name);
        let got = read_all(&bytes).unwrap();
        assert_eq!(got[0].0.name, name);
        assert_eq!(got[0].1, b"q");
    }

    /// A GNU header claiming `real` bytes with one region of `data`.
    fn sparse_bomb(real: u64, data: &[u8], ext_blocks: usize) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path("top/bomb").unwrap();
        h.set_entry_type(T::GNUSparse);
        h.set_size(data.len() as u64);
        let raw = h.as_mut_bytes();
        // GNU base-256, as GNU tar writes sizes past 8 GiB.
        let put = |raw: &mut [u8; 512], at: usize, v: u64| {
            raw[at..at + 4].copy_from_slice(&[0x80, 0, 0, 0]);
            raw[at + 4..at + 12].copy_from_slice(&v.to_be_bytes());
        };
        put(raw, 386, real - data.len() as u64);
        put(raw, 398, data.len() as u64);
        put(raw, 483, real);
        raw[482] = u8::from(ext_blocks > 0);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        for i in 0..ext_blocks {
            let mut b = [0u8; 512];
            b[504] = u8::from(i + 1 < ext_blocks);
            out.extend(b);
        }
        out.extend(data);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    #[test]
    fn a_sparse_bomb_is_described_without_being_materialised() {
        let bytes = sparse_bomb(1 << 40, b"end", 0);
        let mut ar = Archive::new(&bytes[..]);
        let m = ar.next_member().unwrap().unwrap();
        assert_eq!((m.size, m.stored, m.refused.as_deref()), (1 << 40, 3, None));
        // The end is read without reading the terabyte before it.
        assert!(ar.next_member().unwrap().is_none());
    }

    #[test]
    fn many_sparse_extension_blocks_are_read_once_each() {
        let bytes = sparse_bomb(1 << 20, b"x", 50_000);
        let t = std::time::Instant::now();
        let got = read_all(&bytes).unwrap();
        assert_eq!(got[0].1.len(), 1 << 20);
        assert!(t.elapsed().as_secs() < 20);
    }

    #[test]
    fn an_oversized_long_name_refuses_its_member_only() {
        let huge = vec![b'a'; (MAX_NAME + 10) as usize];
        let bytes = build(|b| {
            tarw::append(
                b,
                &[huge.as_slice(), b"\n"].concat(),
                T::Regular,
                &stamp(),
                1,
                None,
                None,
                &b"1"[..],
            )
            .unwrap();
            tarw::append(
                b,
                b"top/next",
                T::Regular,
                &stamp(),
                1,
                None,
                None,
                &b"2"[..],
            )
            .unwrap();
        });
        let got = read_all(&bytes).unwrap();
        assert!(got[0].0.refused.as_deref().unwrap().contains("long name"));
        assert!(got[0].0.name.len() <= 100);
        assert!(got[0].1.is_empty());
        assert_eq!(
            (got[1].0.name.as_slice(), got[1].1.as_slice()),
            (&b"top/next"[..], &b"2"[..])
        );
    }

    #[test]
    fn a_pax_sparse_map_is_refused() {
        let bytes = pax_then_member("GNU.sparse.map", b"0,1");
        assert!(read_all(&bytes).unwrap()[0].0.refused.is_some());
    }

    #[test]
    fn corrupt_and_truncated_archives_are_errors() {
        let mut bytes = build(|b| {
            tarw::append(
                b,
                b"top/a",
                T::Regular,
                &stamp(),
                5,
                None,
                None,
                &b"hello"[..],
            )
            .unwrap();
        });
        let n = bytes.len();
        assert!(read_all(&bytes[..n - 1024 - 400]).is_err());
        let first_real = bytes.len() - 1024 - 1024;
        bytes[first_real + 1] ^= 1;
        assert!(read_all(&bytes).is_err());
    }

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"  17 \0\0\0"), Some(0o17));
        assert_eq!(
            number(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
            Some(1 << 32)
        );
        assert_eq!(number(&[0xff; 12]), None);
        assert_eq!(number(b"9\0"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = read_all(&b);
        }

        #[test]
        fn mutated_archives_never_panic(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
            let mut bytes = sparse_bomb(1 << 16, b"data", 2);
            for (i, v) in flips {
                let i = i % bytes.len();
                bytes[i] = v;
            }
            let _ = read_all(&bytes);
        }

        #[test]
        fn pax_records_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut p = Pending::default();
            apply_pax(&b, &mut p);
        }
    }
}
