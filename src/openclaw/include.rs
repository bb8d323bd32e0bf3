//! `$include` and `${VAR}` in `openclaw.json`, resolved as OpenClaw
//! 2026.9.6 resolves them (its `config/includes.ts` and env substitution),
//! so that `ir` judges the config the gateway really runs.
//!
//! An attacker who can write the state dir can move `gateway.bind` or
//! `hooks.token` into an included file: reading only `openclaw.json` would
//! report loopback while the gateway listens on the LAN, and leave the
//! included token unrotated. The rules followed:
//!
//! - `"$include": "./x.json5"` or `["./a.json5", "./b.json5"]`, at any
//!   object; paths relative to the including file; every file must lie in
//!   the config's directory, lexically and once symlinks are resolved; at
//!   most 2 MiB each, 10 levels deep, no cycles.
//! - Merging: included content first, later includes over earlier ones,
//!   the object's own keys over both; objects merge recursively, arrays
//!   concatenate, anything else is replaced.
//! - `${NAME}` (NAME in `[A-Z_][A-Z0-9_]*`) in a string takes the
//!   variable's value when it is set and not empty and stays as written
//!   otherwise; `$${NAME}` is the literal `${NAME}`.
//!
//! Every file that contributes is kept as a [`Source`], so that a secret
//! can be traced to the file and key that define it ([`origin`]) and be
//! rotated there.

use anyhow::{Result, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Largest include file OpenClaw reads.
pub const MAX_INCLUDE: u64 = 2 << 20;
/// Deepest include chain OpenClaw follows.
pub const MAX_DEPTH: usize = 10;

/// One file that contributes to the config: where its content lands (the
/// logical path of the object holding the `$include`), and its own keys as
/// written.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    pub prefix: Vec<String>,
    pub raw: Value,
}

/// Resolves every `$include` of `value`, the content of `config`. Returns
/// the merged value and the contributing files, lowest precedence first
/// (the config itself last).
pub fn resolve(value: Value, config: &Path) -> Result<(Value, Vec<Source>)> {
    let dir = config.parent().unwrap_or(Path::new("/")).to_path_buf();
    let real_dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let mut r = Resolver {
        dir,
        real_dir,
        sources: Vec::new(),
    };
    let raw = value.clone();
    let merged = r.process(
        value,
        config,
        &mut vec![config.to_path_buf()],
        &mut Vec::new(),
    )?;
    r.sources.push(Source {
        file: config.to_path_buf(),
        prefix: Vec::new(),
        raw,
    });
    Ok((merged, r.sources))
}

struct Resolver {
    dir: PathBuf,
    real_dir: PathBuf,
    sources: Vec<Source>,
}

impl Resolver {
    /// Resolves the includes below `v`, which lies at `path` in `file`.
    fn process(
        &mut self,
        v: Value,
        file: &Path,
        chain: &mut Vec<PathBuf>,
        path: &mut Vec<String>,
    ) -> Result<Value> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, it) in items.into_iter().enumerate() {
                    path.push(i.to_string());
                    out.push(self.process(it, file, chain, path)?);
                    path.pop();
                }
                Ok(Value::Array(out))
            }
            Value::Object(mut o) => {
                let include = o.remove("$include");
                let mut rest = Map::new();
                for (k, v) in o {
                    path.push(k.clone());
                    rest.insert(k, self.process(v, file, chain, path)?);
                    path.pop();
                }
                let Some(inc) = include else {
                    return Ok(Value::Object(rest));
                };
                let included = self.include(&inc, file, chain, path)?;
                if rest.is_empty() {
                    return Ok(included);
                }
                if !included.is_object() {
                    bail!(
                        "{}: keys beside $include need the included content to be an object",
                        file.display()
                    );
                }
                Ok(deep_merge(included, Value::Object(rest)))
            }
            other => Ok(other),
        }
    }

    /// The content of one `$include` value: a path or a list of paths.
    fn include(
        &mut self,
        inc: &Value,
        file: &Path,
        chain: &mut Vec<PathBuf>,
        path: &mut Vec<String>,
    ) -> Result<Value> {
        match inc {
            Value::String(p) => self.load(p, file, chain, path),
            Value::Array(ps) => {
                let mut merged = Value::Object(Map::new());
                for p in ps {
                    let Value::String(p) = p else {
                        bail!("{}: a $include list item is not a string", file.display());
                    };
                    merged = deep_merge(merged, self.load(p, file, chain, path)?);
                }
                Ok(merged)
            }
            _ => bail!(
                "{}: $include is neither a path nor a list of paths",
                file.display()
            ),
        }
    }

    /// Reads, parses and resolves one included file.
    fn load(
        &mut self,
        p: &str,
        from: &Path,
        chain: &mut Vec<PathBuf>,
        path: &mut Vec<String>,
    ) -> Result<Value> {
        let target = self.locate(p, from)?;
        if chain.contains(&target) {
            bail!(
                "{}: circular $include of {}",
                from.display(),
                target.display()
            );
        }
        if chain.len() > MAX_DEPTH {
            bail!(
                "{}: $include nested deeper than {MAX_DEPTH}",
                from.display()
            );
        }
        let bytes = crate::safefs::read_bounded(&target, MAX_INCLUDE)
            .map_err(|e| anyhow::anyhow!("{}: $include {p:?}: {e}", from.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8", target.display()))?;
        let raw = super::config::parse(&text, &target)?;
        chain.push(target.clone());
        let value = self.process(raw.clone(), &target, chain, path);
        chain.pop();
        self.sources.push(Source {
            file: target,
            prefix: path.clone(),
            raw,
        });
        value
    }

    /// The include path resolved against the including file's directory,
    /// refused unless it stays in the config's directory both lexically
    /// and once its symlinks are resolved. Returns the real path.
    fn locate(&self, p: &str, from: &Path) -> Result<PathBuf> {
        if p.contains('\0') || p.len() >= 4096 {
            bail!("{}: $include path is malformed", from.display());
        }
        let base = from.parent().unwrap_or(Path::new("/"));
        let lexical = normalize(&base.join(p));
        if !lexical.starts_with(&self.dir) {
            bail!(
                "{}: $include {p:?} escapes the config directory (OpenClaw refuses it too)",
                from.display()
            );
        }
        let real = std::fs::canonicalize(&lexical)
            .map_err(|e| anyhow::anyhow!("{}: $include {p:?}: {e}", from.display()))?;
        if !real.starts_with(&self.real_dir) {
            bail!(
                "{}: $include {p:?} resolves outside the config directory through a symlink",
                from.display()
            );
        }
        Ok(real)
    }
}

/// `.` and `..` removed without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// OpenClaw's include merge: objects recursively, arrays concatenated,
/// anything else replaced by `over`. Prototype keys are dropped, as
/// OpenClaw drops them.
pub fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Array(mut a), Value::Array(b)) => {
            a.extend(b);
            Value::Array(a)
        }
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                if matches!(k.as_str(), "__proto__" | "constructor" | "prototype") {
                    continue;
                }
                let merged = match a.remove(&k) {
                    Some(cur) => deep_merge(cur, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            a.retain(|k, _| !matches!(k.as_str(), "__proto__" | "constructor" | "prototype"));
            Value::Object(a)
        }
        (_, over) => over,
    }
}

/// The file and the key within it that define the value at `dotted`: the
/// highest-precedence source holding it. `None` when no file does.
pub fn origin<'a>(sources: &'a [Source], dotted: &str) -> Option<(&'a Path, String)> {
    let keys: Vec<&str> = dotted.split('.').collect();
    sources.iter().rev().find_map(|s| {
        let rest =
            keys.strip_prefix(&s.prefix.iter().map(String::as_str).collect::<Vec<_>>()[..])?;
        let found = rest.iter().try_fold(&s.raw, |v, k| v.get(*k));
        found.map(|_| (s.file.as_path(), rest.join(".")))
    })
}

/// Substitutes `${NAME}` in every string of `v` from `env`, as OpenClaw
/// does at load (unset or empty names stay as written).
pub fn substitute_env(v: &mut Value, env: &BTreeMap<String, String>) {
    match v {
        Value::String(s) if s.contains('$') => *s = substitute(s, env),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute_env(x, env)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute_env(x, env)),
        _ => {}
    }
}

fn substitute(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        let (escaped, body) = match at.strip_prefix("$${") {
            Some(b) => (true, b),
            None => (false, at.strip_prefix("${").unwrap_or("")),
        };
        let name = body.find('}').map(|e| &body[..e]).filter(|n| env_name(n));
        match name {
            Some(n) if escaped => {
                out.push_str(&format!("${{{n}}}"));
                rest = &body[n.len() + 1..];
            }
            Some(n) => {
                match env.get(n).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&format!("${{{n}}}")),
                }
                rest = &body[n.len() + 1..];
            }
            None => {
                out.push('$');
                rest = &at[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn env_name(n: &str) -> bool {
    let mut b = n.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == b'_')
        && b.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Regression (issue 15): with `$include`, OpenClaw ran bind=lan while
    /// ir reported loopback, and hooks.token in the include was unseen.
    #[test]
    fn includes_merge_as_openclaw_merges_them() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "net.json5",
            "{ gateway: { bind: 'lan' }, list: [2] }",
        );
        write(
            d.path(),
            "hooks.json5",
            "{ token: 'hook-secret', enabled: true }",
        );
        let cfg = write(
            d.path(),
            "openclaw.json",
            "{ $include: './net.json5', gateway: { port: 1 }, list: [1], hooks: { $include: 'hooks.json5' } }",
        );
        let v = super::super::config::parse(&std::fs::read_to_string(&cfg).unwrap(), &cfg).unwrap();
        let (merged, sources) = resolve(v, &cfg).unwrap();
        assert_eq!(merged["gateway"], json!({"bind": "lan", "port": 1}));
        assert_eq!(merged["list"], json!([2, 1]));
        assert_eq!(merged["hooks"]["token"], "hook-secret");
        let (file, key) = origin(&sources, "hooks.token").unwrap();
        assert!(file.ends_with("hooks.json5") && key == "token");
        let (file, key) = origin(&sources, "gateway.bind").unwrap();
        assert!(file.ends_with("net.json5") && key == "gateway.bind");
        let (file, _) = origin(&sources, "gateway.port").unwrap();
        assert!(file.ends_with("openclaw.json"));
    }

    #[test]
    fn own_keys_win_and_later_includes_win() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a.json5", "{ x: 'a', y: 'a' }");
        write(d.path(), "b.json5", "{ y: 'b' }");
        let cfg = write(
            d.path(),
            "c.json",
            "{ $include: ['a.json5', 'b.json5'], x: 'own' }",
        );
        let v = super::super::config::parse(&std::fs::read_to_string(&cfg).unwrap(), &cfg).unwrap();
        let (merged, sources) = resolve(v, &cfg).unwrap();
        assert_eq!(merged, json!({"x": "own", "y": "b"}));
        assert!(origin(&sources, "y").unwrap().0.ends_with("b.json5"));
    }

    #[test]
    fn escapes_cycles_and_depth_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("cfg");
        std::fs::create_dir(&sub).unwrap();
        write(d.path(), "outside.json5", "{}");
        std::os::unix::fs::symlink(d.path().join("outside.json5"), sub.join("link.json5")).unwrap();
        write(&sub, "loop.json5", "{ $include: 'loop.json5' }");
        for inc in [
            "../outside.json5",
            "link.json5",
            "loop.json5",
            "/etc/passwd",
            "missing.json5",
        ] {
            let cfg = sub.join("openclaw.json");
            let v = json!({ "$include": inc });
            assert!(resolve(v, &cfg).is_err(), "{inc}");
        }
    }

    #[test]
    fn env_substitution_follows_openclaw() {
        let env: BTreeMap<String, String> = [
            ("TOKEN".to_string(), "t0k".to_string()),
            ("EMPTY".into(), String::new()),
        ]
        .into();
        assert_eq!(substitute("a${TOKEN}b", &env), "at0kb");
        assert_eq!(substitute("$${TOKEN}", &env), "${TOKEN}");
        assert_eq!(substitute("${EMPTY}${MISSING}", &env), "${EMPTY}${MISSING}");
        assert_eq!(substitute("${lower} $ ${", &env), "${lower} $ ${");
        assert_eq!(substitute("é$x${TOKEN}", &env), "é$xt0k");
    }

    proptest::proptest! {
        #[test]
        fn substitution_never_panics(s in "\\PC{0,80}") {
            let env: BTreeMap<String, String> = [("A".to_string(), "v".to_string())].into();
            let _ = substitute(&s, &env);
        }
    }
}
