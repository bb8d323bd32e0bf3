//! `ir collect`: preserve the evidence in one encrypted, hashed bundle.

use crate::case::{Ctx, Outcome};
use crate::evidence::collect::{self, Options, Summary};
use crate::evidence::keys::{self, KeyArgs};
use crate::exit::Exit;
use anyhow::{Result, bail};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// `-` writes the encrypted bundle to stdout (nothing of it on this
    /// disk; the manifest copy, the .sha256 sidecar and the journal entry
    /// still go to the case dir). Without it the bundle goes to the case dir.
    #[arg(short, long, value_name = "-")]
    pub output: Option<String>,
    /// Also collect this host path (repeatable).
    #[arg(long, value_name = "PATH")]
    pub add: Vec<PathBuf>,
    /// Leave out host paths matching this glob (repeatable), e.g.
    /// '/home/*/.openclaw/cache/**'.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Store files larger than this cut at this size (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Compress faster (gzip level 1) at some cost in size.
    #[arg(long)]
    pub fast: bool,
    /// gzip level, 1-9 (default 5; 6-9 compress a little more, much slower).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=9))]
    pub level: Option<u32>,
    /// Compression threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Descend into other filesystems mounted under a collected root.
    #[arg(long)]
    pub cross_filesystems: bool,
    /// Start even if the case dir's filesystem looks too small.
    #[arg(long)]
    pub ignore_free_space: bool,
}

/// Parses `2G`, `512M`, `64K` or a byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size (e.g. 2G, 512M)"))
}

/// Whether the bundle streams to stdout, refusing what cannot be: a value
/// other than `-`, a terminal on stdout, `--json` (stdout is the bundle's).
fn streaming(ctx: &Ctx, a: &CollectArgs) -> Result<bool> {
    match a.output.as_deref() {
        None => Ok(false),
        Some("-") if ctx.global.json => Err(crate::exit::hint(
            "-o - writes the bundle to stdout, so --json cannot print there",
            "drop --json (the summary goes to stderr and the journal), or drop -o -",
        )),
        Some("-") if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            Err(crate::exit::hint(
                "-o - writes the encrypted bundle to stdout, which is a terminal",
                "pipe it: ir collect -r KEY -o - | ssh analyst 'cat > bundle.age'",
            ))
        }
        Some("-") => Ok(true),
        Some(other) => Err(crate::exit::hint(
            format!("-o {other:?}: only - (stdout) is taken"),
            "drop -o to write the bundle into the case dir (--case DIR), or give -o - to stream it",
        )),
    }
}

/// Runs a collection.
pub fn run(ctx: &Ctx, a: &CollectArgs) -> Result<Exit> {
    let stream = streaming(ctx, a)?;
    let (summary, exit) = ctx.journaled("collect", |run| {
        let enc = keys::encryption(&a.keys)?;
        // The first collect seals a case not sealed by `ir case init`. A
        // case dir an older ir made may refuse the key file: it stays
        // unsealed, which verify reports, rather than losing the evidence.
        if let Err(e) = run.begin_sealing(Some(&enc), false) {
            eprintln!("ir: warning: the journal stays unsealed: {e:#}");
        }
        let dep = ctx.discover_for_evidence()?;
        let journal = crate::safefs::read_bounded(run.journal().path(), 256 << 20)?;
        let cwd = std::env::current_dir()?;
        let add = a
            .add
            .iter()
            .map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    cwd.join(p)
                }
            })
            .collect();
        let mut opts = Options {
            max_file_size: a.max_file_size,
            one_file_system: !a.cross_filesystems,
            excludes: a.exclude.clone(),
            add,
            progress: !ctx.global.quiet && !ctx.global.json,
            stream,
            check_space: !a.ignore_free_space,
            hostname: Some(ctx.hostname()),
            custody: crate::journal::case_custody(run.journal().path()),
            seal_age: crate::safefs::read_bounded(
                &crate::seal::seal_age_path(run.journal().path()),
                64 * 1024,
            )
            .ok(),
            ..Options::default()
        };
        if a.fast {
            opts.level = 1;
        }
        if let Some(l) = a.level {
            opts.level = l;
        }
        if let Some(t) = a.threads {
            if t == 0 {
                bail!("--threads must be at least 1");
            }
            opts.threads = t;
        }
        let s = collect::collect(&dep, &ctx.root(), &ctx.global.case, &enc, &opts, &journal)?;
        // A bundle missing files `ir` was denied is sound but incomplete.
        let denied = s.verdicts.get("denied").map_or(0, |t| t.count);
        let exit = if denied > 0 { Exit::Findings } else { Exit::Ok };
        if denied > 0 {
            crate::output::warn(
                ctx.global.quiet,
                &format!("incomplete: {denied} files could not be read (permission denied); run as root or as the state dir's owner"),
            );
        }
        let outcome = Outcome::record(exit, &s)?;
        Ok((s, outcome))
    })?;
    if ctx.global.json {
        crate::output::print_json(&summary);
    } else if stream {
        // stdout carries the bundle and nothing else; the hash is what the
        // receiver checks, so it is said even under -q.
        eprintln!("ir: bundle streamed to stdout, sha256 {}", summary.sha256);
        if !ctx.global.quiet {
            eprint!("{}", render(&summary));
        }
    } else if !ctx.global.quiet {
        crate::output::print(&render(&summary));
    }
    Ok(exit)
}

fn render(s: &Summary) -> String {
    let mut o = String::new();
    if s.streamed {
        let _ = writeln!(
            o,
            "bundle    streamed to stdout; save it as {}",
            s.bundle
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
    } else {
        let _ = writeln!(o, "bundle    {}", s.bundle.display());
    }
    let _ = writeln!(o, "sha256    {}", s.sha256);
    let h = crate::output::human_size;
    let _ = writeln!(
        o,
        "size      {} ({} bytes), from {} in {} items",
        h(s.size),
        s.size,
        h(s.input_bytes),
        s.items
    );
    let _ = writeln!(
        o,
        "manifest  {} (sha256 {})",
        s.manifest.display(),
        s.manifest_sha256
    );
    let counts: Vec<String> = s
        .verdicts
        .iter()
        .map(|(k, t)| format!("{k} {}", t.count))
        .collect();
    let _ = writeln!(o, "verdicts  {}", counts.join(", "));
    for n in &s.notes {
        let _ = writeln!(o, "note      {}", crate::sanitize::escape(n));
    }
    let key = if s.encryption.is_passphrase() {
        "--passphrase"
    } else {
        "-i KEY"
    };
    if s.streamed {
        let _ = writeln!(
            o,
            "\nwhere it was received: ir verify BUNDLE {key} (and compare the sha256 above)\nit unlocks rotate, clear-sessions, restore and quarantine here only once put at {}",
            s.bundle.display()
        );
        return o;
    }
    let _ = writeln!(o, "\nto check it:   ir verify {} {key}", s.bundle.display());
    let _ = writeln!(
        o,
        "to open it:    ir extract {} {key} -o DIR",
        s.bundle.display()
    );
    let _ = writeln!(
        o,
        "or by hand:    age -d {} {} | tar -xzf -",
        if key == "-i KEY" { "-i KEY" } else { "" },
        s.bundle.display()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
