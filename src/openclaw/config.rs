//! Reading `openclaw.json`: JSON5 (comments, trailing commas, single quotes,
//! unquoted keys, hex numbers), as OpenClaw reads it.
//!
//! `$include` files are merged and `${VAR}` substituted as OpenClaw does
//! ([`super::include`]), so the value judged is the one the gateway runs.
//!
//! Reading uses `jsonc-parser`, the same parser the comment-preserving
//! editor uses when rotating secrets, so what we read and what we edit can
//! never disagree. The file is read with a size bound and without following
//! a symlink. Secret values are never returned as strings to print: callers
//! get a [`SecretInfo`] that says whether one is set and how long it is.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A config larger than this is refused (OpenClaw's are a few KiB).
pub const MAX_CONFIG: u64 = 16 << 20;

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub value: Value,
    /// Where a symlinked config led (inside the state dir).
    pub followed: Option<PathBuf>,
    /// Every file that contributes to `value`, the config itself last
    /// (more than one when it uses `$include`).
    pub sources: Vec<super::include::Source>,
}

impl Config {
    /// The included files (every source but the config itself).
    pub fn includes(&self) -> impl Iterator<Item = &Path> {
        let n = self.sources.len().saturating_sub(1);
        self.sources[..n].iter().map(|s| s.file.as_path())
    }
}

/// A JSON5 syntax error, located.
#[derive(Debug, thiserror::Error)]
#[error("{path}: JSON5 syntax error at line {line}, column {column}: {message}")]
pub struct SyntaxError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The parse options matching OpenClaw's JSON5 reader.
pub fn parse_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: true,
        allow_trailing_commas: true,
        allow_missing_commas: false,
        allow_single_quoted_strings: true,
        allow_hexadecimal_numbers: true,
        allow_unary_plus_numbers: true,
        allow_bare_decimal_point_numbers: true,
        allow_non_finite_numbers: true,
        allow_extended_string_escapes: true,
    }
}

/// Parses JSON5 text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Value, SyntaxError> {
    let v: Option<Value> =
        jsonc_parser::parse_to_serde_value(text, &parse_options()).map_err(|e| SyntaxError {
            path: crate::sanitize::escape_path(path),
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        })?;
    Ok(v.unwrap_or(Value::Null))
}

/// Loads the config; `Ok(None)` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<Config>> {
    load_file(path)
}

/// Loads the config of the state dir `state`. OpenClaw follows a symlinked
/// `openclaw.json`; `ir` follows it only to a regular file inside `state`
/// (recorded in [`Config::followed`]) and refuses one that leads out.
pub fn load_in(path: &Path, state: &Path) -> Result<Option<Config>> {
    let Some(m) = crate::safefs::lstat(path)? else {
        return Ok(None);
    };
    if !m.file_type().is_symlink() {
        return load_file(path);
    }
    let target = std::fs::read_link(path)?;
    // Where the link really leads, every link on the way resolved.
    let real = match (std::fs::canonicalize(path), std::fs::canonicalize(state)) {
        (Ok(real), Ok(home)) if real.starts_with(&home) && real != home => {
            match crate::safefs::lstat(&real)? {
                Some(m) if m.is_file() => Ok(real),
                _ => Err("not a regular file"),
            }
        }
        (Ok(_), Ok(_)) => Err("outside the state dir"),
        _ => Err("leading nowhere"),
    };
    let real = real.map_err(|why| {
        crate::exit::hint(
            format!(
                "{} is a symlink to {}, {why}: not followed",
                crate::sanitize::escape_path(path),
                crate::sanitize::escape_path(&target),
            ),
            "look at the link (an attacker may point it at another file), or pass --config FILE",
        )
    })?;
    let mut c = load_file(&real)?;
    if let Some(c) = &mut c {
        c.path = path.to_path_buf();
        c.followed = Some(real);
    }
    Ok(c)
}

fn load_file(path: &Path) -> Result<Option<Config>> {
    let bytes = match crate::safefs::read_bounded(path, MAX_CONFIG) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        crate::exit::hint(
            format!(
                "{} is not valid UTF-8 (byte {})",
                crate::sanitize::escape_path(path),
                e.utf8_error().valid_up_to()
            ),
            "OpenClaw configs are UTF-8 JSON5; inspect the file by hand",
        )
    })?;
    let value = parse(&text, path).map_err(|e| {
        crate::exit::hint(
            e.to_string(),
            "fix the syntax at that position (OpenClaw would refuse this config too), or pass --config FILE",
        )
    })?;
    let (value, sources) = super::include::resolve(value, path).map_err(|e| {
        crate::exit::hint(
            format!("{e:#}"),
            "fix or remove the $include (OpenClaw refuses to start with it too), or pass --config FILE",
        )
    })?;
    Ok(Some(Config {
        path: path.to_path_buf(),
        value,
        followed: None,
        sources,
    }))
}

/// The `KEY=value` lines of the state dir's `.env` (which the gateway
/// loads at start), in file order; `export ` and quotes are stripped.
/// Values are secrets: never print them.
pub fn dotenv(state_dir: &Path) -> Vec<(String, String)> {
    let Ok(b) = crate::safefs::read_bounded(&state_dir.join(".env"), 4 << 20) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&b)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().trim_start_matches("export ").split_once('=')?;
            Some((
                k.trim().to_string(),
                v.trim().trim_matches(['"', '\'']).to_string(),
            ))
        })
        .collect()
}

/// The variables OpenClaw substitutes for `${NAME}`: the state dir's
/// `.env` over the discovery environment.
pub fn env_for(
    state_dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    let mut out = env.clone();
    out.extend(dotenv(state_dir));
    out
}

/// The value at a dotted path (`gateway.auth.token`).
pub fn get<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

/// A string at a dotted path.
pub fn get_str<'a>(v: &'a Value, dotted: &str) -> Option<&'a str> {
    get(v, dotted).and_then(Value::as_str)
}

/// What we may say about a secret: never its value.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretInfo {
    /// Not set (absent, null or empty).
    Unset,
    /// Set inline in the config.
    Inline { length: usize },
    /// A SecretRef `{source, provider, id}`.
    Ref {
        source: String,
        provider: Option<String>,
        id: Option<String>,
    },
    /// Something else (a number, an array...): suspicious in itself.
    Other,
}

impl SecretInfo {
    /// Reads the secret slot at `dotted`.
    pub fn at(v: &Value, dotted: &str) -> SecretInfo {
        match get(v, dotted) {
            None | Some(Value::Null) => SecretInfo::Unset,
            Some(Value::String(s)) if s.is_empty() => SecretInfo::Unset,
            Some(Value::String(s)) => SecretInfo::Inline {
                length: s.chars().count(),
            },
            Some(Value::Object(o)) if o.get("source").is_some_and(Value::is_string) => {
                let s = |k: &str| {
                    o.get(k)
                        .and_then(Value::as_str)
                        .map(crate::sanitize::escape)
                };
                SecretInfo::Ref {
                    source: s("source").unwrap_or_default(),
                    provider: s("provider"),
                    id: s("id"),
                }
            }
            Some(_) => SecretInfo::Other,
        }
    }

    /// True when a secret is configured in any form.
    pub fn is_set(&self) -> bool {
        !matches!(self, SecretInfo::Unset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json5_features() {
        let t = "// c\n{ gateway: { port: 0x4965, 'bind': 'loopback', auth: { token: \"abc\", }, }, /* x */ }";
        let v = parse(t, Path::new("x")).unwrap();
        assert_eq!(get(&v, "gateway.port").unwrap().as_u64(), Some(18789));
        assert_eq!(get_str(&v, "gateway.bind"), Some("loopback"));
        assert_eq!(
            SecretInfo::at(&v, "gateway.auth.token"),
            SecretInfo::Inline { length: 3 }
        );
    }

    #[test]
    fn syntax_error_is_located() {
        let e = parse(
            "{\n  gateway: {\n    port: ,\n}",
            Path::new("/s/openclaw.json"),
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("/s/openclaw.json"));
    }

    #[test]
    fn secret_ref() {
        let v: Value = serde_json::json!({"gateway":{"auth":{"token":{"source":"env","provider":"default","id":"GW_TOKEN"}}}});
        assert!(matches!(
            SecretInfo::at(&v, "gateway.auth.token"),
            SecretInfo::Ref { .. }
        ));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,400}") {
            let _ = parse(&s, Path::new("p"));
        }

        #[test]
        fn parser_never_panics_on_jsonish(s in "[{}\\[\\]:,'\"a-z0-9 \\n/*+.-]{0,200}") {
            let _ = parse(&s, Path::new("p"));
        }
    }
}
