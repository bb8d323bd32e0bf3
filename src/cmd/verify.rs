//! `ir verify BUNDLE`: is this bundle what `ir collect` wrote?

use crate::case::{Ctx, Outcome};
use crate::evidence::keys::IdentityArgs;
use crate::evidence::read::{self, KeepJournal};
use crate::exit::Exit;
use anyhow::Result;
use serde_json::json;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle (.tar.gz.age); default: the case's last collected bundle.
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub id: IdentityArgs,
    #[command(flatten)]
    pub limits: read::Limits,
}

/// The bundle the case journal's last successful collect wrote.
pub fn latest_bundle(journal: &std::path::Path) -> Result<PathBuf> {
    let entries = crate::journal::read_entries(journal).unwrap_or_default();
    match crate::journal::last_collect(&entries) {
        Some(rec) => Ok(rec?.1.bundle),
        None => Err(crate::exit::hint(
            "no bundle given and the case journal records no collect",
            "give the bundle's path",
        )),
    }
}

/// Checks the bundle: without a key, its hash and header; with one, every
/// byte inside. Exit 0 when sound, 1 when anything does not match.
pub fn run(ctx: &Ctx, a: &VerifyArgs) -> Result<Exit> {
    let case_journal = ctx.global.case.join(crate::journal::JOURNAL_FILE);
    let bundle = match &a.bundle {
        Some(b) => b.clone(),
        None => latest_bundle(&case_journal)?,
    };
    // Two passes over the ciphertext: its hash, then (with a key) every
    // entry decrypted and re-hashed.
    let bar = crate::evidence::progress::enabled(!ctx.global.quiet && !ctx.global.json);
    let size = std::fs::symlink_metadata(&bundle).map_or(0, |m| m.len());
    crate::evidence::progress::phase(bar, "hashing", size);
    let outer = read::outer(&bundle, Some(&case_journal));
    crate::evidence::progress::finish();
    let (outer, mut problems) = outer?;
    let mut inner = None;
    let mut seal = None;
    if a.id.given() {
        let ids = crate::evidence::keys::identities(&a.id)?;
        let mut keep = KeepJournal::default();
        crate::evidence::progress::phase(bar, "checking", size);
        let read = read::read_all_with(&bundle, &ids, a.limits, &mut keep);
        crate::evidence::progress::finish();
        let (i, p) = read?;
        problems.extend(p);
        if let (Some(j), Some(s)) = (&keep.journal, &keep.seal_age) {
            // The case journal is held to the bundle only when it is the
            // case that wrote this bundle: it records it, or the bundle
            // lies in the case dir (a journal cut below the collect no
            // longer records it).
            let case = if outer.journal_matches == Some(true) {
                outer.journal.as_deref()
            } else {
                let ours = in_dir(&bundle, &ctx.global.case) && case_journal.exists();
                ours.then_some(case_journal.as_path())
            };
            let (found, p) = crate::seal::check_bundle(j, s, &ids, case)?;
            problems.extend(p);
            seal = Some(found);
        }
        if let (Some(want), Some(got)) = (&outer.journal_manifest_sha256, &i.manifest_sha256)
            && want != got
        {
            problems.push(format!(
                "manifest.json hashes to {got} but the case journal recorded {want}"
            ));
        }
        inner = Some(i);
    }
    let sound = problems.is_empty();
    if ctx.global.json {
        crate::output::print_json(
            &json!({"sound": sound, "outer": outer, "inner": inner, "seal": seal, "problems": problems}),
        );
    } else {
        let mut o = String::new();
        let _ = writeln!(o, "bundle   {}", outer.bundle.display());
        let _ = writeln!(o, "sha256   {}", outer.sha256);
        let say = |m: Option<bool>| match m {
            Some(true) => "matches",
            Some(false) => "DOES NOT MATCH",
            None => "not found",
        };
        let _ = writeln!(o, "sidecar  {}", say(outer.sidecar_matches));
        let _ = writeln!(o, "journal  {}", say(outer.journal_matches));
        let _ = writeln!(o, "header   age, encrypted to {}", outer.encrypted_to);
        match &inner {
            Some(i) => {
                let _ = writeln!(
                    o,
                    "content  {} entries, {} files re-hashed against {} manifest items",
                    i.entries, i.files_checked, i.manifest_items
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "content  not checked (give -i IDENTITY or --passphrase to check every file)"
                );
            }
        }
        if inner.is_some() {
            let _ = writeln!(o, "seals    {}", seal_line(seal.as_ref()));
        }
        for p in &problems {
            let _ = writeln!(o, "  ! {}", crate::sanitize::escape(p));
        }
        let _ = writeln!(o, "{}", if sound { "SOUND" } else { "NOT SOUND" });
        crate::output::print(&o);
    }
    // Verification reads only the case, but it is part of the chain of
    // custody: record it when the case exists.
    if case_journal.exists() {
        let _ = ctx.journaled("verify", |_| {
            Ok(((), Outcome {
                exit: if sound { Exit::Ok } else { Exit::Findings },
                details: json!({"bundle": bundle, "sha256": outer.sha256, "content_checked": inner.is_some(), "sound": sound, "problems": problems}),
            }))
        });
    }
    Ok(if sound { Exit::Ok } else { Exit::Findings })
}

/// Whether `file` lies directly in `dir` (both resolved).
fn in_dir(file: &std::path::Path, dir: &std::path::Path) -> bool {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .canonicalize()
        .ok();
    parent.is_some() && parent == dir.canonicalize().ok()
}

/// What the bundle's journal seals say, in one line.
fn seal_line(s: Option<&crate::seal::BundleSeal>) -> String {
    let Some(s) = s else {
        return "the bundle holds no seal.age: its journal is unsealed".into();
    };
    let j = &s.bundle_journal;
    let mut l = format!(
        "journal checked with the bundle's seed {}: {} sealed, {}",
        s.fingerprint,
        j.sealed,
        if j.failed == 0 {
            "all valid"
        } else {
            "SOME FAIL"
        }
    );
    if let Some(seq) = s.head_seq {
        l.push_str(&format!("; sealed head entry {seq}"));
    }
    if let Some(c) = &s.case_journal {
        l.push_str(if c.failed == 0 {
            "; the case journal holds it and seals with the same seed"
        } else {
            "; the case journal FAILS its seals"
        });
    }
    l
}
