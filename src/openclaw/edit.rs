//! Editing `openclaw.json` in place, keeping every comment, key order and
//! layout the operator wrote (jsonc-parser's CST), and writing it back
//! atomically with its owner and mode 600.
//!
//! The text is held in zeroizing buffers where we own it; the CST keeps its
//! own copies, which is the one place a secret we write can linger until
//! the process exits.

use anyhow::{Context, Result, bail};
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A config file opened for editing.
pub struct ConfigEdit {
    pub path: PathBuf,
    root: CstRootNode,
}

impl ConfigEdit {
    /// Reads and parses the config; a syntax error names line and column
    /// and nothing is changed.
    pub fn open(path: &Path) -> Result<ConfigEdit> {
        let bytes = Zeroizing::new(crate::safefs::read_bounded(
            path,
            super::config::MAX_CONFIG,
        )?);
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("{} is not UTF-8", path.display()))?;
        let root = CstRootNode::parse(text, &super::config::parse_options()).map_err(|e| {
            crate::exit::hint(
                format!(
                    "{}: JSON5 syntax error at line {}, column {}: {}; nothing was changed",
                    crate::sanitize::escape_path(path),
                    e.line_display(),
                    e.column_display(),
                    e.kind()
                ),
                "fix the config by hand first (OpenClaw would refuse it too)",
            )
        })?;
        if root.object_value().is_none() {
            bail!("{} does not hold a JSON object", path.display());
        }
        Ok(ConfigEdit {
            path: path.to_path_buf(),
            root,
        })
    }

    fn object(&self, keys: &[&str], create: bool) -> Option<CstObject> {
        let mut obj = self.root.object_value()?;
        for k in keys {
            obj = if create {
                obj.object_value_or_set(k)
            } else {
                obj.object_value(k)?
            };
        }
        Some(obj)
    }

    /// Sets a string at a dotted path, creating missing objects.
    pub fn set_string(&self, dotted: &str, value: &str) -> Result<()> {
        let keys: Vec<&str> = dotted.split('.').collect();
        let (last, parents) = keys.split_last().context("empty path")?;
        let obj = self
            .object(parents, true)
            .context("the config root is not an object")?;
        let v = CstInputValue::String(value.to_string());
        match obj.get(last) {
            Some(p) => p.set_value(v),
            None => {
                obj.append(last, v);
            }
        }
        Ok(())
    }

    /// The string at a dotted path, if there is one.
    pub fn get_str(&self, dotted: &str) -> Option<Zeroizing<String>> {
        let keys: Vec<&str> = dotted.split('.').collect();
        let (last, parents) = keys.split_last()?;
        let v = self.object(parents, false)?.get(last)?.value()?;
        let s = v.as_string_lit()?.decoded_value().ok()?;
        Some(Zeroizing::new(s))
    }

    /// The names of an object's properties at a dotted path.
    pub fn keys(&self, dotted: &str) -> Vec<String> {
        let keys: Vec<&str> = dotted.split('.').filter(|k| !k.is_empty()).collect();
        self.object(&keys, false)
            .map(|o| {
                o.properties()
                    .iter()
                    .filter_map(|p| p.name()?.decoded_value().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The edited text.
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(self.root.to_string())
    }

    /// Writes the edited config back: atomically, same owner, mode 600.
    pub fn save(&self) -> Result<()> {
        let text = self.text();
        // Never write what we could not read back.
        super::config::parse(&text, &self.path).map_err(|e| {
            anyhow::anyhow!("the edited config does not parse ({e}); nothing was written")
        })?;
        crate::safefs::replace_file(&self.path, text.as_bytes(), 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_layout() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("openclaw.json");
        let src = "// operator notes\n{\n  gateway: {\n    auth: { mode: 'token', token: 'old-token' }, // keep\n  },\n}\n";
        std::fs::write(&p, src).unwrap();
        let e = ConfigEdit::open(&p).unwrap();
        assert_eq!(
            e.get_str("gateway.auth.token").unwrap().as_str(),
            "old-token"
        );
        e.set_string("gateway.auth.token", "new-token").unwrap();
        e.set_string("hooks.token", "hooks-new").unwrap();
        e.save().unwrap();
        let out = std::fs::read_to_string(&p).unwrap();
        assert!(out.starts_with("// operator notes\n{\n  gateway: {\n    auth: { mode: 'token', token: \"new-token\" }, // keep"), "{out}");
        assert!(out.contains("hooks"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn syntax_error_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("openclaw.json");
        std::fs::write(&p, "{ gateway: { ,, } }").unwrap();
        assert!(ConfigEdit::open(&p).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{ gateway: { ,, } }");
    }
}
