//! Editing `openclaw.json` in place, keeping every comment, key order and
//! layout the operator wrote (jsonc-parser's CST), and writing it back
//! atomically with its owner and mode 600.
//!
//! JSON5 lets a key repeat, and OpenClaw's parser keeps the last one: a
//! config with `auth: { token: "decoy" }, …, auth: { token: "real" }` runs
//! with "real". So a value is read from the last occurrence at every level,
//! and a secret is written to every occurrence, so that no copy of the old
//! value is left in force or in the file.
//!
//! The text is held in zeroizing buffers where we own it; the CST keeps its
//! own copies, which is the one place a secret we write can linger until
//! the process exits.

use anyhow::{Context, Result, bail};
use jsonc_parser::cst::{CstInputValue, CstObject, CstObjectProp, CstRootNode};
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

    /// The object `keys` resolves to as OpenClaw reads it: the last
    /// property of each name at every level; missing objects are created
    /// when `create`.
    fn object(&self, keys: &[&str], create: bool) -> Option<CstObject> {
        let mut obj = self.root.object_value()?;
        for k in keys {
            obj = match props_named(&obj, k).pop() {
                Some(p) => p.object_value()?,
                None if create => obj.object_value_or_set(k),
                None => return None,
            };
        }
        Some(obj)
    }

    /// Every object `keys` reaches, following each duplicate.
    fn objects_all(&self, keys: &[&str]) -> Vec<CstObject> {
        let mut cur: Vec<CstObject> = self.root.object_value().into_iter().collect();
        for k in keys {
            cur = cur
                .iter()
                .flat_map(|o| props_named(o, k))
                .filter_map(|p| p.object_value())
                .collect();
        }
        cur
    }

    /// Sets a string at a dotted path, creating missing objects, in the
    /// occurrence OpenClaw reads and in every duplicate of it. Returns how
    /// many occurrences were written.
    pub fn set_string(&self, dotted: &str, value: &str) -> Result<usize> {
        let keys: Vec<&str> = dotted.split('.').collect();
        let (last, parents) = keys.split_last().context("empty path")?;
        let obj = self.object(parents, true).with_context(|| {
            format!(
                "{}: a parent of {dotted} is not an object",
                self.path.display()
            )
        })?;
        match props_named(&obj, last).pop() {
            Some(p) => p.set_value(CstInputValue::String(value.to_string())),
            None => {
                obj.append(last, CstInputValue::String(value.to_string()));
            }
        }
        let mut written = 0;
        for o in self.objects_all(parents) {
            for p in props_named(&o, last) {
                p.set_value(CstInputValue::String(value.to_string()));
                written += 1;
            }
        }
        Ok(written)
    }

    /// The string at a dotted path as OpenClaw reads it, if there is one.
    pub fn get_str(&self, dotted: &str) -> Option<Zeroizing<String>> {
        let keys: Vec<&str> = dotted.split('.').collect();
        let (last, parents) = keys.split_last()?;
        let v = props_named(&self.object(parents, false)?, last)
            .pop()?
            .value()?;
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

/// `openclaw.json` and the files it `$include`s, opened for editing: each
/// secret is read and written in the file and under the key that define
/// it as OpenClaw resolves them, so a token moved into an included file is
/// rotated there, not shadowed by a new one in `openclaw.json`.
pub struct ConfigSet {
    main: ConfigEdit,
    included: Vec<ConfigEdit>,
    sources: Vec<super::include::Source>,
    edited: std::cell::RefCell<std::collections::BTreeSet<usize>>,
}

impl ConfigSet {
    /// Opens the config of `state` and every file it includes.
    pub fn open(config: &Path, state: &Path) -> Result<ConfigSet> {
        let main = ConfigEdit::open(config)?;
        let sources = super::config::load_in(config, state)?
            .map(|c| c.sources)
            .unwrap_or_default();
        let n = sources.len().saturating_sub(1);
        let included = sources[..n]
            .iter()
            .map(|s| ConfigEdit::open(&s.file))
            .collect::<Result<_>>()?;
        Ok(ConfigSet {
            main,
            included,
            sources,
            edited: Default::default(),
        })
    }

    /// The included files (each may be rewritten).
    pub fn included(&self) -> impl Iterator<Item = &Path> {
        self.included.iter().map(|e| e.path.as_path())
    }

    /// The file (index: 0 the config, i+1 the i-th include) and key that
    /// define `dotted`; the config itself for a value no file defines.
    fn locate(&self, dotted: &str) -> (usize, String) {
        let n = self.sources.len().saturating_sub(1);
        match super::include::origin(&self.sources, dotted) {
            Some((file, key)) => match self.sources[..n].iter().position(|s| s.file == file) {
                Some(i) => (i + 1, key),
                None => (0, key),
            },
            None => (0, dotted.to_string()),
        }
    }

    fn edit(&self, i: usize) -> &ConfigEdit {
        if i == 0 {
            &self.main
        } else {
            &self.included[i - 1]
        }
    }

    /// The string at `dotted` as OpenClaw resolves it.
    pub fn get_str(&self, dotted: &str) -> Option<Zeroizing<String>> {
        let (i, key) = self.locate(dotted);
        self.edit(i).get_str(&key)
    }

    /// Sets `dotted` where it is defined (see [`ConfigEdit::set_string`]).
    pub fn set_string(&self, dotted: &str, value: &str) -> Result<usize> {
        let (i, key) = self.locate(dotted);
        self.edited.borrow_mut().insert(i);
        self.edit(i).set_string(&key, value)
    }

    /// Which file holds `dotted`: `config`, or the included file's name.
    pub fn where_is(&self, dotted: &str) -> String {
        match self.locate(dotted).0 {
            0 => "config".into(),
            i => format!(
                "config include {}",
                crate::sanitize::escape_path(&self.included[i - 1].path)
            ),
        }
    }

    /// Writes back every file that was edited.
    pub fn save(&self) -> Result<()> {
        for i in self.edited.borrow().iter() {
            self.edit(*i).save()?;
        }
        Ok(())
    }
}

/// Every property of `obj` named `name`, in file order.
fn props_named(obj: &CstObject, name: &str) -> Vec<CstObjectProp> {
    obj.properties()
        .into_iter()
        .filter(|p| {
            p.name()
                .and_then(|n| n.decoded_value().ok())
                .is_some_and(|n| n == name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: with a key repeated, OpenClaw runs with the last one;
    /// rotate rewrote the first (a decoy) and left the real token in force.
    #[test]
    fn a_repeated_key_is_read_as_openclaw_reads_it_and_rewritten_everywhere() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("openclaw.json");
        let src = "{ gateway: { auth: { token: 'decoy' }, port: 1, auth: { mode: 'token', token: 'real', token: 'realer' } } }\n";
        std::fs::write(&p, src).unwrap();
        let as_openclaw = |text: &str| {
            crate::openclaw::config::parse(text, &p).unwrap()["gateway"]["auth"]["token"].clone()
        };
        assert_eq!(
            as_openclaw(src),
            "realer",
            "ir's reader must keep the last duplicate"
        );
        let e = ConfigEdit::open(&p).unwrap();
        assert_eq!(e.get_str("gateway.auth.token").unwrap().as_str(), "realer");
        assert_eq!(e.set_string("gateway.auth.token", "new").unwrap(), 3);
        e.save().unwrap();
        let out = std::fs::read_to_string(&p).unwrap();
        assert!(!out.contains("decoy") && !out.contains("real"), "{out}");
        assert_eq!(as_openclaw(&out), "new");
    }

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
