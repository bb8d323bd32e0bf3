//! The evidence gate: nothing destructive runs before what it destroys sits
//! in a bundle whose hash has been verified.
//!
//! The gate reads the case journal's last successful `collect`, checks that
//! the bundle still hashes to what the journal recorded, loads the manifest
//! copy whose hash the journal also recorded, and then, for each file about
//! to be removed or rewritten, requires an entry with that file's *current*
//! SHA-256. Anything not covered is named; `--force` overrides and is
//! journaled as forced.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
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
#[derive(Debug, Clone, Serialize)]
pub struct Uncovered {
    pub path: String,
    pub reason: String,
}

/// Finds and verifies the case's last successful collection.
pub fn latest(journal: &Path) -> Result<Preserved, String> {
    let entries = crate::journal::read_entries(journal)
        .map_err(|e| format!("the case journal cannot be read: {e:#}"))?;
    let end = crate::journal::last_end(&entries, "collect", true)
        .ok_or("the case journal records no successful `ir collect`")?;
    let d = end.value.get("details").cloned().unwrap_or(Value::Null);
    let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
    let bundle = PathBuf::from(s("bundle").ok_or("the collect entry names no bundle")?);
    let want = s("sha256").ok_or("the collect entry records no hash")?;
    let f = crate::safefs::open_regular(&bundle)
        .map_err(|e| format!("the bundle {} is gone or unreadable: {e}", bundle.display()))?
        .0;
    let got =
        crate::journal::sha256_reader(std::io::BufReader::new(f)).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!(
            "the bundle {} hashes to {got}, not the {want} the journal recorded",
            bundle.display()
        ));
    }
    let manifest = PathBuf::from(s("manifest").ok_or("the collect entry names no manifest")?);
    let mbytes = crate::safefs::read_bounded(&manifest, 1 << 30)
        .map_err(|e| format!("the manifest copy is unreadable: {e}"))?;
    if Some(crate::journal::sha256_hex(&mbytes)) != s("manifest_sha256") {
        return Err(format!(
            "the manifest copy {} does not match the hash the journal recorded",
            manifest.display()
        ));
    }
    let m: Value = serde_json::from_slice(&mbytes)
        .map_err(|e| format!("the manifest copy is not JSON: {e}"))?;
    let mut files = HashMap::new();
    for it in m
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(p), Some(h)) = (
            it.get("path").and_then(Value::as_str),
            it.get("sha256").and_then(Value::as_str),
        ) {
            files.insert(p.to_string(), h.to_string());
        }
    }
    Ok(Preserved {
        bundle,
        sha256: want,
        collected_at: end.str("ts").unwrap_or("").to_string(),
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
