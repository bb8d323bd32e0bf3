//! The evidence gate: nothing destructive runs before what it destroys sits
//! in a bundle whose hash has been verified.
//!
//! The gate reads the case journal's last successful `collect`, checks that
//! the bundle still hashes to what the journal recorded, loads the manifest
//! copy whose hash the journal also recorded, and then, for each file about
//! to be removed or rewritten, requires an entry with that file's *current*
//! SHA-256. Anything not covered is named; `--force` overrides and is
//! journaled as forced.

use crate::record::Manifest;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A verified collection.
#[derive(Debug, Clone, Serialize)]
pub struct Preserved {
    pub bundle: PathBuf,
    pub sha256: String,
    pub collected_at: String,
    /// Host path (escaped, as in the manifest) → sha256 of what was stored.
    #[serde(skip)]
    pub files: HashMap<String, String>,
}

/// A file the gate does not cover, and why.
pub use crate::record::Uncovered;

/// Finds and verifies the case's last successful collection.
pub fn latest(journal: &Path) -> Result<Preserved, String> {
    let entries = crate::journal::read_entries(journal)
        .map_err(|e| format!("the case journal cannot be read: {e:#}"))?;
    let (collected_at, rec) = crate::journal::last_collect(&entries)
        .ok_or("the case journal records no successful `ir collect`")?
        .map_err(|e| format!("{e:#}"))?;
    // A streamed bundle was verified by no one on this host: it counts
    // only once a file with the recorded hash is put at its recorded name.
    let f = crate::safefs::open_regular(&rec.bundle)
        .map_err(|e| {
            if rec.streamed {
                format!(
                    "the last collect streamed its bundle to stdout (sha256 {}); no copy on this host can be verified: put the received bundle at {}, or collect into the case dir",
                    rec.sha256,
                    rec.bundle.display()
                )
            } else {
                format!(
                    "the bundle {} is gone or unreadable: {e}",
                    rec.bundle.display()
                )
            }
        })?
        .0;
    let got =
        crate::journal::sha256_reader(std::io::BufReader::new(f)).map_err(|e| e.to_string())?;
    if got != rec.sha256 {
        return Err(format!(
            "the bundle {} hashes to {got}, not the {} the journal recorded",
            rec.bundle.display(),
            rec.sha256
        ));
    }
    let mbytes = crate::safefs::read_bounded(&rec.manifest, 1 << 30)
        .map_err(|e| format!("the manifest copy is unreadable: {e}"))?;
    if crate::journal::sha256_hex(&mbytes) != rec.manifest_sha256 {
        return Err(format!(
            "the manifest copy {} does not match the hash the journal recorded",
            rec.manifest.display()
        ));
    }
    let m: Manifest = crate::record::Manifest::from_json(&mbytes).map_err(|e| {
        format!(
            "the manifest copy {} is not an ir manifest: {e}",
            rec.manifest.display()
        )
    })?;
    let files = m
        .items
        .into_iter()
        .filter_map(|it| Some((it.path?, it.sha256?)))
        .collect();
    Ok(Preserved {
        bundle: rec.bundle,
        sha256: rec.sha256,
        collected_at,
        files,
    })
}

/// Which of `paths` (local path, host view) the preserved bundle does not
/// hold as they are now.
pub fn uncovered(p: &Preserved, paths: &[(PathBuf, PathBuf)]) -> Result<Vec<Uncovered>> {
    let mut out = Vec::new();
    for (local, host) in paths {
        let shown = crate::sanitize::escape_path(host);
        let Some(want) = p.files.get(&shown) else {
            out.push(Uncovered {
                path: shown,
                reason: "not in the bundle".into(),
            });
            continue;
        };
        let (f, _) = crate::safefs::open_regular(local)
            .with_context(|| format!("reading {}", local.display()))?;
        let now = crate::journal::sha256_reader(std::io::BufReader::new(f))?;
        if &now != want {
            out.push(Uncovered {
                path: shown,
                reason: format!(
                    "changed since it was collected (now {}, bundle {})",
                    &now[..12],
                    &want[..12.min(want.len())]
                ),
            });
        }
    }
    Ok(out)
}

/// Checks the gate for `paths`; returns the preserved bundle, or a refusal
/// naming everything not covered. With `force`, never refuses.
pub fn require(
    journal: &Path,
    paths: &[(PathBuf, PathBuf)],
    force: bool,
    what: &str,
) -> Result<(Option<Preserved>, Vec<Uncovered>)> {
    let p = match latest(journal) {
        Ok(p) => p,
        Err(why) if force => {
            return Ok((
                None,
                vec![Uncovered {
                    path: "*".into(),
                    reason: why,
                }],
            ));
        }
        Err(why) => {
            return Err(crate::exit::Refused(format!(
                "{what} refused: {why}. Run `ir collect` first (or --force, which is journaled)"
            ))
            .into());
        }
    };
    let missing = uncovered(&p, paths)?;
    if !missing.is_empty() && !force {
        let list: Vec<String> = missing
            .iter()
            .take(20)
            .map(|u| format!("{} ({})", u.path, u.reason))
            .collect();
        return Err(crate::exit::Refused(format!(
            "{what} refused: {} file(s) are not preserved as they are now in {}: {}{}. Run `ir collect` again (or --force, which is journaled)",
            missing.len(),
            p.bundle.display(),
            list.join("; "),
            if missing.len() > 20 { "; ..." } else { "" }
        ))
        .into());
    }
    Ok((Some(p), missing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::record::{End, Record, Status};

    fn collect_end(details: serde_json::Value) -> Record {
        Record::End(End {
            run: "r".into(),
            command: "collect".into(),
            duration_ms: 1,
            status: Status::Ok,
            exit_code: 0,
            details: Some(details),
            error: None,
            fix: None,
        })
    }

    /// A collect record whose members were renamed (a writer that drifted
    /// from the reader) is refused by name, never read as "no bundle".
    #[test]
    fn a_collect_record_that_does_not_parse_is_refused_naming_the_entry() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::open(d.path()).unwrap();
        j.append(collect_end(
            serde_json::json!({"bundle_path": "/x", "hash": "00"}),
        ))
        .unwrap();
        let why = latest(j.path()).unwrap_err();
        assert!(why.contains("entry 0") && why.contains("collect"), "{why}");
        let refused = require(j.path(), &[], false, "rotate").unwrap_err();
        assert!(format!("{refused:#}").contains("entry 0"), "{refused:#}");
    }
}
