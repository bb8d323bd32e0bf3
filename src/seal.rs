//! Forward-secure sealing of the case journal.
//!
//! The hash chain alone cannot stop an attacker with root: they can rewrite
//! an entry and recompute every digest after it and the head. Sealing adds
//! a key they cannot have:
//!
//! - when sealing begins, `ir` draws a 32-byte seed from the OS CSPRNG; the
//!   seed leaves memory only encrypted to the responder (`seal.age`), never
//!   on disk in the clear, never journaled, never printed;
//! - entry `i` (from the first sealed entry `s0` on) carries
//!   `seal = HMAC-SHA256(k_i, digest_i)` with `k_s0 = seed` and
//!   `k_{i+1} = SHA-256("ir-seal" ‖ k_i)`;
//! - after each append the key file `seal.key` is atomically replaced by
//!   the next key, and the old key is zeroized in memory.
//!
//! So what a thief finds on disk after entry `N` is `k_{N+1}`, from which no
//! earlier key can be computed: every seal up to `N` stays out of reach.
//! The key file also counts: its `seq` can only move forward, so a journal
//! whose tail was cut off no longer meets the key the seed derives there.
//! Each seal covers a digest, and each digest the whole chain before it,
//! so entries written before sealing began are covered by the first seal.

use crate::evidence::keys::Encryption;
use anyhow::{Context, Result, anyhow, bail};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// The seed encrypted to the case's recipients, in the case dir and in
/// every bundle.
pub const SEAL_AGE: &str = "seal.age";
/// The current (next) key and the seq it seals, mode 600.
pub const KEY_FILE: &str = "seal.key";
/// The marker of the plaintext inside `seal.age`.
const FORMAT: &str = "ir-seal/1";
/// The label hashed in front of a key to evolve it.
const LABEL: &[u8] = b"ir-seal";

/// A 32-byte key or seed, wiped when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// A fresh seed from the OS CSPRNG.
pub fn new_seed() -> Result<Key> {
    let mut k = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut k[..]).map_err(|e| anyhow!("no OS randomness for the seal seed: {e}"))?;
    Ok(k)
}

/// The seed's fingerprint: the first 16 hex of its SHA-256. Safe to print
/// and to write down; it names the seed without revealing it.
pub fn fingerprint(seed: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(seed))[..16].to_string()
}

/// The next key: `SHA-256("ir-seal" ‖ k)`.
pub fn evolve(k: &[u8; 32]) -> Key {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update(k);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize());
    out
}

/// `k` evolved `n` times.
pub fn evolve_by(k: &[u8; 32], n: u64) -> Key {
    let mut cur = Zeroizing::new(*k);
    for _ in 0..n {
        cur = evolve(&cur);
    }
    cur
}

/// The seal of an entry: HMAC-SHA256 under `k` of its hex digest, hex.
pub fn mac(k: &[u8; 32], digest: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("HMAC takes any key length");
    m.update(digest.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Whether `seal` is the seal of `digest` under `k` (constant time).
pub fn mac_ok(k: &[u8; 32], digest: &str, seal: &str) -> bool {
    let Ok(want) = hex::decode(seal) else {
        return false;
    };
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("HMAC takes any key length");
    m.update(digest.as_bytes());
    m.verify_slice(&want).is_ok()
}

/// The verification key to write down (journald's model): the seed and
/// the seq it first sealed, `<64 hex>-<seq>`. Whoever holds it can check
/// (and forge) every seal, like the age identity of `seal.age`.
pub fn verify_key(seed: &[u8; 32], first_seq: u64) -> Zeroizing<String> {
    let mut hexseed = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(seed, &mut hexseed[..]).expect("64 hex for 32 bytes");
    let mut s = Zeroizing::new(String::with_capacity(90));
    s.push_str(std::str::from_utf8(&hexseed[..]).expect("hex is ASCII"));
    s.push_str(&format!("-{first_seq}"));
    s
}

/// Parses a verification key written down from `ir case init
/// --print-verify-key`.
pub fn parse_verify_key(s: &str) -> Result<Seed> {
    let bad = || {
        crate::exit::hint(
            "the verification key is not <64 hex>-<seq>",
            "give the key exactly as `ir case init --print-verify-key` printed it",
        )
    };
    let (hex, seq) = s.trim().split_once('-').ok_or_else(bad)?;
    let first_seq = seq.parse().map_err(|_| bad())?;
    let seed = key_from_hex(hex.to_string(), "the verification key").map_err(|_| bad())?;
    Ok(Seed { seed, first_seq })
}

/// The key file of a journal (next to it).
pub fn key_path(journal: &Path) -> PathBuf {
    journal.with_file_name(KEY_FILE)
}

/// `seal.age` of a journal (next to it).
pub fn seal_age_path(journal: &Path) -> PathBuf {
    journal.with_file_name(SEAL_AGE)
}

/// The key that seals entry `seq`, as the key file holds it.
pub struct KeyState {
    pub seq: u64,
    pub key: Key,
}

#[derive(serde::Deserialize)]
struct KeyFile {
    seq: u64,
    key: String,
}

fn key_from_hex(mut text: String, what: &str) -> Result<Key> {
    let mut k = Zeroizing::new([0u8; 32]);
    let r = hex::decode_to_slice(text.as_bytes(), &mut k[..]);
    text.zeroize();
    r.map_err(|_| anyhow!("{what} does not hold a 32-byte hex key"))?;
    Ok(k)
}

/// Reads the key file; `None` when there is none (an unsealed journal).
pub fn read_state(path: &Path) -> Result<Option<KeyState>> {
    let bytes = match crate::safefs::read_bounded(path, 4096) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(anyhow!(e)).with_context(|| format!("reading {}", path.display())),
    };
    let f: KeyFile = serde_json::from_slice(&bytes)
        .map_err(|_| anyhow!("{} is not an ir seal key file", path.display()))?;
    let key = key_from_hex(f.key, &path.display().to_string())?;
    Ok(Some(KeyState { seq: f.seq, key }))
}

/// Replaces the key file atomically (temp file, fsync, rename), mode 600:
/// the old key's file is gone once this returns.
pub fn write_state(path: &Path, s: &KeyState) -> Result<()> {
    let mut hexkey = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(&s.key[..], &mut hexkey[..]).expect("64 hex for 32 bytes");
    let mut text = Zeroizing::new(Vec::with_capacity(128));
    text.extend_from_slice(format!("{{\"seq\":{},\"key\":\"", s.seq).as_bytes());
    text.extend_from_slice(&hexkey[..]);
    text.extend_from_slice(b"\"}\n");
    crate::safefs::write_atomic(path, &text, 0o600)
        .with_context(|| format!("writing the seal key {}", path.display()))
}

/// What `seal.age` decrypts to: the seed and the seq it first sealed.
pub struct Seed {
    pub seed: Key,
    pub first_seq: u64,
}

impl Seed {
    /// The seed's fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.seed)
    }

    /// The key that seals entry `seq` (`None` before sealing began).
    pub fn key_at(&self, seq: u64) -> Option<Key> {
        seq.checked_sub(self.first_seq)
            .map(|n| evolve_by(&self.seed, n))
    }
}

/// Encrypts the seed to the case's recipients (or passphrase) into
/// `seal.age`. The plaintext exists only in zeroizing memory.
pub fn write_seal_age(path: &Path, enc: &Encryption, s: &Seed) -> Result<()> {
    let mut hexseed = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(&s.seed[..], &mut hexseed[..]).expect("64 hex for 32 bytes");
    let mut plain = Zeroizing::new(Vec::with_capacity(160));
    plain.extend_from_slice(format!("{{\"format\":\"{FORMAT}\",\"seed\":\"").as_bytes());
    plain.extend_from_slice(&hexseed[..]);
    plain.extend_from_slice(format!("\",\"first_seq\":{}}}\n", s.first_seq).as_bytes());
    let data = enc.encrypt_small(&plain)?;
    crate::safefs::write_atomic(path, &data, 0o600)
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(serde::Deserialize)]
struct SeedFile {
    format: String,
    seed: String,
    first_seq: u64,
}

/// Decrypts `seal.age` (its bytes) with the analyst's identities.
pub fn open_seal_age(data: &[u8], ids: &[Box<dyn age::Identity>], what: &str) -> Result<Seed> {
    let plain = crate::evidence::keys::decrypt_small(data, ids, what, 4096)?;
    let f: SeedFile = serde_json::from_slice(&plain)
        .map_err(|_| anyhow!("{what} does not hold an ir seal seed"))?;
    if f.format != FORMAT {
        bail!("{what} is not an {FORMAT} seal");
    }
    Ok(Seed {
        seed: key_from_hex(f.seed, what)?,
        first_seq: f.first_seq,
    })
}

/// Reads and decrypts the `seal.age` file at `path`.
pub fn read_seal_age(path: &Path, ids: &[Box<dyn age::Identity>]) -> Result<Seed> {
    let data = crate::safefs::read_bounded(path, 64 * 1024).map_err(|e| {
        if e.is_not_found() {
            crate::exit::hint(
                format!("{} does not exist: this journal was never sealed here", path.display()),
                "verify without -i (the chain only), or give the seal.age from a bundle with --seal FILE",
            )
        } else {
            anyhow!(e)
        }
    })?;
    open_seal_age(&data, ids, &path.display().to_string())
}

/// What a bundle's sealed journal says, checked with the bundle's own
/// `seal.age` (the host's copy may have been replaced).
#[derive(Debug, serde::Serialize)]
pub struct BundleSeal {
    pub fingerprint: String,
    /// The journal inside the bundle, seals recomputed.
    pub bundle_journal: crate::journal::SealReport,
    /// The bundle journal's last entry: a sealed head off the host.
    pub head_seq: Option<u64>,
    pub head_digest: Option<String>,
    /// The case journal checked with the bundle's seed and against its
    /// head, when the case records this bundle.
    pub case_journal: Option<crate::journal::SealReport>,
}

/// Checks the journal a bundle holds with the seed its `seal.age` holds,
/// then (when given) the case journal against both: it must carry the
/// bundle journal's last entry and seal with the same seed. Returns what
/// was found and the problems, each naming which journal.
pub fn check_bundle(
    journal: &[u8],
    seal_age: &[u8],
    ids: &[Box<dyn age::Identity>],
    case_journal: Option<&Path>,
) -> Result<(BundleSeal, Vec<String>)> {
    let seed = open_seal_age(seal_age, ids, "the bundle's seal.age")?;
    let dir = tempfile::tempdir().context("a temp dir for the bundle's journal")?;
    let copy = dir.path().join(crate::journal::JOURNAL_FILE);
    crate::safefs::write_atomic(&copy, journal, 0o600)?;
    let checks = crate::journal::Checks {
        seed: Some(&seed),
        expect_head: None,
    };
    let inner = crate::journal::verify_with(&copy, &checks)?;
    let mut problems: Vec<String> = inner
        .problems
        .iter()
        .map(|p| format!("the bundle's journal: {}", p.message))
        .collect();
    let mut out = BundleSeal {
        fingerprint: seed.fingerprint(),
        bundle_journal: inner.seal,
        head_seq: inner.last_seq,
        head_digest: inner.last_digest.clone(),
        case_journal: None,
    };
    if let (Some(case), Some(head)) = (case_journal, &inner.last_digest) {
        let checks = crate::journal::Checks {
            seed: Some(&seed),
            expect_head: Some(head),
        };
        let r = crate::journal::verify_with(case, &checks)?;
        problems.extend(
            r.problems
                .iter()
                .map(|p| format!("the case journal: {}", p.message)),
        );
        out.case_journal = Some(r.seal);
    }
    Ok((out, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_evolve_one_way_and_deterministically() {
        let seed = Zeroizing::new([7u8; 32]);
        let k1 = evolve(&seed);
        assert_eq!(*evolve_by(&seed, 1), *k1);
        assert_eq!(*evolve_by(&seed, 3), *evolve(&evolve(&k1)));
        assert_ne!(*k1, *seed);
        let s = mac(&k1, "ab");
        assert!(mac_ok(&k1, "ab", &s));
        assert!(!mac_ok(&seed, "ab", &s));
        assert!(!mac_ok(&k1, "ab", "zz"));
        assert_eq!(fingerprint(&seed).len(), 16);
    }

    #[test]
    fn verify_key_round_trips() {
        let seed = Zeroizing::new([3u8; 32]);
        let k = verify_key(&seed, 7);
        assert_eq!(k.len(), 66);
        let s = parse_verify_key(&k).unwrap();
        assert_eq!((*s.seed, s.first_seq), ([3u8; 32], 7));
        assert!(parse_verify_key("abc-1").is_err());
        assert!(parse_verify_key(&k.replace('-', "")).is_err());
    }

    #[test]
    fn key_file_round_trips_with_mode_600() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(KEY_FILE);
        assert!(read_state(&p).unwrap().is_none());
        let key = Zeroizing::new([9u8; 32]);
        write_state(&p, &KeyState { seq: 4, key }).unwrap();
        let s = read_state(&p).unwrap().unwrap();
        assert_eq!((s.seq, *s.key), (4, [9u8; 32]));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn seal_age_round_trips() {
        let id = age::x25519::Identity::generate();
        let enc = Encryption::Recipients(vec![Box::new(id.to_public())], vec![]);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(SEAL_AGE);
        let seed = new_seed().unwrap();
        let fp = fingerprint(&seed);
        write_seal_age(&p, &enc, &Seed { seed, first_seq: 3 }).unwrap();
        let ids: Vec<Box<dyn age::Identity>> = vec![Box::new(id)];
        let s = read_seal_age(&p, &ids).unwrap();
        assert_eq!((s.fingerprint(), s.first_seq), (fp, 3));
        assert!(s.key_at(2).is_none());
        assert_eq!(*s.key_at(3).unwrap(), *s.seed);
    }
}
