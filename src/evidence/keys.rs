//! Who can open a bundle: age recipients or a passphrase to encrypt to, and
//! identities or a passphrase to decrypt with.
//!
//! The host never needs a private key: `ir collect` encrypts to public
//! recipients (age X25519, `ssh-ed25519`, `ssh-rsa`) or to a passphrase.
//! age forbids mixing the two in one file, and there is no plaintext mode.
//! Passphrases are held in zeroizing memory from the moment they are read.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// How the operator gave the key.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Encrypt to this recipient: an age key (age1…) or an ssh-ed25519 /
    /// ssh-rsa public key. Repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Encrypt to the recipients listed in FILE (one per line, # comments).
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Use a passphrase: prompted on a TTY, else from --passphrase-file or
    /// IR_PASSPHRASE.
    #[arg(long)]
    pub passphrase: bool,
    /// Read the passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<String>;

/// Reads the passphrase from the file, `IR_PASSPHRASE`, or a TTY prompt.
pub fn read_passphrase(file: Option<&Path>, confirm: bool) -> Result<Passphrase> {
    if let Some(f) = file {
        let bytes = Zeroizing::new(
            crate::safefs::read_bounded(f, 64 * 1024)
                .with_context(|| format!("reading the passphrase file {}", f.display()))?,
        );
        let text =
            std::str::from_utf8(&bytes).with_context(|| format!("{} is not UTF-8", f.display()))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            bail!("the passphrase file {} is empty", f.display());
        }
        return Ok(exact(line));
    }
    if let Ok(p) = std::env::var("IR_PASSPHRASE") {
        let p = Zeroizing::new(p);
        if p.is_empty() {
            bail!("IR_PASSPHRASE is set but empty");
        }
        return Ok(exact(&p));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(crate::exit::hint(
            "a passphrase is needed but there is no TTY to ask on",
            "use --passphrase-file FILE or set IR_PASSPHRASE",
        ));
    }
    let p = prompt("ir: passphrase: ")?;
    if p.is_empty() {
        bail!("empty passphrase");
    }
    if confirm {
        let again = prompt("ir: passphrase (again): ")?;
        if *again != *p {
            bail!("the passphrases differ");
        }
    }
    Ok(exact(&p))
}

/// One passphrase prompt on the TTY, which Ctrl-C aborts.
///
/// rpassword reads the terminal raw (echo and ISIG off) and handles Ctrl-C
/// itself: it restores the terminal, raises SIGINT (which, with the
/// handler of [`crate::signal`], only sets the flag) and returns an I/O
/// error. Checking the flag first turns that into `Interrupted`, so the
/// run is journaled as interrupted and exits 130 instead of failing with
/// exit 2; the terminal is already as it was.
fn prompt(text: &str) -> Result<Passphrase> {
    let answer = rpassword::prompt_password(text);
    crate::signal::check()?;
    Ok(Zeroizing::new(answer?))
}

/// Copies into a buffer of exactly the right capacity, so converting to
/// age's `SecretString` later does not reallocate and leave a copy behind.
fn exact(s: &str) -> Passphrase {
    let mut out = String::with_capacity(s.len());
    out.push_str(s);
    Zeroizing::new(out)
}

/// What to encrypt to.
pub enum Encryption {
    Recipients(Vec<Box<dyn age::Recipient + Send>>, Vec<String>),
    Passphrase(Passphrase),
}

impl Encryption {
    /// A description for the journal and the summary (no secret in it).
    pub fn describe(&self) -> crate::record::EncryptionRecord {
        use crate::record::EncryptionRecord as E;
        match self {
            Encryption::Recipients(_, names) => E::Recipients {
                recipients: names.clone(),
            },
            Encryption::Passphrase(_) => E::Passphrase { passphrase: true },
        }
    }
}

impl Encryption {
    /// An age encryptor to these recipients or this passphrase (one place
    /// for the bundle and the journal's `seal.age`).
    pub fn encryptor(&self) -> Result<age::Encryptor> {
        Ok(match self {
            Encryption::Recipients(rs, _) => age::Encryptor::with_recipients(
                rs.iter().map(|r| r.as_ref() as &dyn age::Recipient),
            )?,
            Encryption::Passphrase(p) => age::Encryptor::with_user_passphrase(
                age::secrecy::SecretString::from(p.as_str().to_owned()),
            ),
        })
    }

    /// Encrypts a small secret in memory (binary age format).
    pub fn encrypt_small(&self, plain: &[u8]) -> Result<Vec<u8>> {
        use std::io::Write;
        let mut out = Vec::new();
        let mut w = self.encryptor()?.wrap_output(&mut out)?;
        w.write_all(plain)?;
        w.finish()?;
        Ok(out)
    }
}

/// Decrypts a small age file held in memory with the given identities;
/// the plaintext is wiped when dropped. `what` names the file in errors.
pub fn decrypt_small(
    data: &[u8],
    ids: &[Box<dyn age::Identity>],
    what: &str,
    max: u64,
) -> Result<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(data))
        .map_err(|e| anyhow::anyhow!("{what} is not an age file: {e}"))?;
    let mut r = dec
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| {
            crate::exit::hint(
                format!("cannot decrypt {what}: {e}"),
                "pass -i with the identity matching one of the case's recipients (or --passphrase)",
            )
        })?;
    let mut out = Zeroizing::new(Vec::new());
    (&mut r).take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        bail!("{what} holds more than {max} bytes: not an ir seal");
    }
    Ok(out)
}

fn shorten(s: &str) -> String {
    let s = crate::sanitize::escape(s);
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Parses one recipient string.
pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>> {
    let t = s.trim();
    if t.starts_with("age1") {
        let r: age::x25519::Recipient = t.parse().map_err(|e: &str| {
            crate::exit::hint(
                format!("invalid age recipient {:?}: {e}", shorten(t)),
                "an age recipient is the age1… line that age-keygen prints as 'Public key'",
            )
        })?;
        return Ok(Box::new(r));
    }
    if t.starts_with("ssh-ed25519 ") || t.starts_with("ssh-rsa ") {
        let r: age::ssh::Recipient = t.parse().map_err(|e| {
            crate::exit::hint(
                format!("invalid SSH recipient {:?}: {e:?}", shorten(t)),
                "give the whole line of an id_ed25519.pub or id_rsa.pub",
            )
        })?;
        return Ok(Box::new(r));
    }
    Err(crate::exit::hint(
        format!("invalid recipient {:?}", shorten(t)),
        "a recipient is an age1… public key, or an ssh-ed25519 / ssh-rsa public key line",
    ))
}

/// Resolves the key options into what to encrypt to.
pub fn encryption(a: &KeyArgs) -> Result<Encryption> {
    let mut strs: Vec<String> = a.recipients.clone();
    for f in &a.recipients_files {
        let text = crate::safefs::read_text(f, 1 << 20)
            .with_context(|| format!("reading the recipients file {}", f.display()))?;
        let before = strs.len();
        strs.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
        if strs.len() == before {
            bail!("the recipients file {} lists no recipient", f.display());
        }
    }
    let wants_pass = a.passphrase || a.passphrase_file.is_some();
    if !strs.is_empty() && wants_pass {
        return Err(crate::exit::hint(
            "recipients and a passphrase cannot be combined: age encrypts a file to one or the other",
            "choose -r/-R or --passphrase; to have both, encrypt to a recipient and keep its identity in a passphrase-protected file (age -p)",
        ));
    }
    if wants_pass {
        return Ok(Encryption::Passphrase(read_passphrase(
            a.passphrase_file.as_deref(),
            true,
        )?));
    }
    if strs.is_empty() {
        return Err(crate::exit::hint(
            "no key to encrypt the evidence to (there is no plaintext mode)",
            "pass -r age1… (from age-keygen on the analyst's machine), -R FILE, or --passphrase",
        ));
    }
    let rs = strs
        .iter()
        .map(|s| parse_recipient(s))
        .collect::<Result<Vec<_>>>()?;
    let names = strs.iter().map(|s| shorten(s)).collect();
    Ok(Encryption::Recipients(rs, names))
}

/// How the analyst opens a bundle.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IdentityArgs {
    /// An age identity file (age-keygen output) or an SSH private key.
    /// Repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// The bundle is passphrase-encrypted: prompt on a TTY, else
    /// --passphrase-file or IR_PASSPHRASE.
    #[arg(long)]
    pub passphrase: bool,
    /// Read the passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl IdentityArgs {
    /// True when any way to decrypt was given.
    pub fn given(&self) -> bool {
        !self.identities.is_empty() || self.passphrase || self.passphrase_file.is_some()
    }
}

/// Loaded identities (or a passphrase identity).
pub fn identities(a: &IdentityArgs) -> Result<Vec<Box<dyn age::Identity>>> {
    let mut out: Vec<Box<dyn age::Identity>> = Vec::new();
    for f in &a.identities {
        let bytes = Zeroizing::new(
            crate::safefs::read_bounded(f, 1 << 20)
                .with_context(|| format!("reading the identity file {}", f.display()))?,
        );
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("-----BEGIN") {
            let id = age::ssh::Identity::from_buffer(&bytes[..], Some(f.display().to_string()))
                .with_context(|| {
                    format!("{} is not an SSH private key age can use", f.display())
                })?;
            out.push(Box::new(id));
            continue;
        }
        let file = age::IdentityFile::from_buffer(&bytes[..])
            .with_context(|| format!("{} is not an age identity file", f.display()))?;
        let ids = file
            .into_identities()
            .with_context(|| format!("reading identities from {}", f.display()))?;
        if ids.is_empty() {
            bail!("{} holds no identity", f.display());
        }
        for id in ids {
            out.push(id);
        }
    }
    if a.passphrase || a.passphrase_file.is_some() {
        let p = read_passphrase(a.passphrase_file.as_deref(), false)?;
        out.push(Box::new(age::scrypt::Identity::new(
            age::secrecy::SecretString::from(p.as_str().to_owned()),
        )));
    }
    Ok(out)
}
