//! Runbooks: a TOML playbook of ordered steps, each an `ir` action or an
//! absolute-path program, with declared effects, confirmation, requirements
//! and a failure policy. Parsing is strict: an unknown key, a bad value or
//! an `exec` of a relative path is an error naming file, line and column.

pub mod run;

use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The playbooks shipped inside the binary (copies live in `playbooks/`).
pub const SHIPPED: &[(&str, &str)] = &[
    ("respond", include_str!("../../playbooks/respond.toml")),
    ("contain", include_str!("../../playbooks/contain.toml")),
    (
        "collect-only",
        include_str!("../../playbooks/collect-only.toml"),
    ),
    ("recover", include_str!("../../playbooks/recover.toml")),
];

/// Effects a step may declare.
pub const EFFECTS: &[&str] = &["reads", "writes", "deletes", "stops", "starts", "network"];

/// `ir` actions a playbook may run.
pub const ACTIONS: &[&str] = &[
    "inventory",
    "snapshot",
    "stop",
    "collect",
    "verify",
    "timeline",
    "persistence",
    "hunt",
    "rotate",
    "clear-sessions",
    "audit",
    "recover",
    "report",
];

/// A parsed playbook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// What a step does when it fails.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    Stop,
    Continue,
}

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    /// An `ir` action and its arguments.
    pub run: Option<Vec<String>>,
    /// Or an absolute-path program...
    pub exec: Option<Spanned<String>>,
    /// ...and its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Seconds before an `exec` is killed.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    #[serde(default)]
    pub effects: Vec<Spanned<String>>,
    #[serde(default)]
    pub confirm: bool,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Run only when this variable is set to true (`--set NAME=true`).
    pub when: Option<String>,
}

fn default_timeout() -> u64 {
    60
}

/// Line and column (1-based) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn at(origin: &str, text: &str, span: std::ops::Range<usize>, msg: String) -> anyhow::Error {
    let (l, c) = line_col(text, span.start);
    crate::exit::hint(
        format!("{origin}:{l}:{c}: {msg}"),
        "see the playbook format in the README",
    )
}

/// Parses and checks a playbook; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Playbook> {
    let pb: Playbook = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => at(origin, text, span, e.message().to_string()),
        None => crate::exit::hint(
            format!("{origin}: {}", e.message()),
            "see the playbook format in the README",
        ),
    })?;
    let mut seen: Vec<&str> = Vec::new();
    for s in &pb.steps {
        let err = |m: String| {
            crate::exit::hint(
                format!("{origin}: step {:?}: {m}", s.id),
                "see the playbook format in the README",
            )
        };
        if seen.contains(&s.id.as_str()) {
            return Err(err("a second step with this id".into()));
        }
        match (&s.run, &s.exec) {
            (Some(r), None) => {
                let action = r.first().map(String::as_str).unwrap_or("");
                if !ACTIONS.contains(&action) {
                    return Err(err(format!(
                        "unknown ir action {action:?} (one of {})",
                        ACTIONS.join(", ")
                    )));
                }
            }
            (None, Some(e)) => {
                if !e.get_ref().starts_with('/') {
                    return Err(at(
                        origin,
                        text,
                        e.span(),
                        format!(
                            "exec {:?} is not an absolute path: programs are never looked up through PATH",
                            e.get_ref()
                        ),
                    ));
                }
            }
            _ => return Err(err("give exactly one of run or exec".into())),
        }
        for e in &s.effects {
            if !EFFECTS.contains(&e.get_ref().as_str()) {
                return Err(at(
                    origin,
                    text,
                    e.span(),
                    format!(
                        "unknown effect {:?} (one of {})",
                        e.get_ref(),
                        EFFECTS.join(", ")
                    ),
                ));
            }
        }
        for r in &s.requires {
            if !seen.contains(&r.as_str()) {
                return Err(err(format!("requires {r:?}, which is not an earlier step")));
            }
        }
        seen.push(&s.id);
    }
    Ok(pb)
}

/// Finds a playbook: a file path, else a shipped name.
pub fn load(name_or_path: &str) -> Result<(Playbook, String, String)> {
    let p = std::path::Path::new(name_or_path);
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") || p.exists() {
        let text = crate::safefs::read_text(p, 1 << 20)?;
        let pb = parse(&text, &p.display().to_string())?;
        return Ok((pb, text, p.display().to_string()));
    }
    match SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
        Some((n, text)) => Ok((
            parse(text, &format!("playbooks/{n}.toml"))?,
            text.to_string(),
            format!("shipped:{n}"),
        )),
        None => Err(crate::exit::hint(
            format!("no playbook named {name_or_path:?}"),
            format!(
                "give a .toml file, or one of: {}",
                SHIPPED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Replaces `${name}` with values; an unset variable is an error.
pub fn substitute(arg: &str, vars: &BTreeMap<String, String>, step: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .ok_or_else(|| anyhow::anyhow!("step {step:?}: unterminated ${{ in {arg:?}"))?;
        let name = &rest[i + 2..i + end];
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => {
                return Err(crate::exit::hint(
                    format!("step {step:?} needs ${{{name}}}"),
                    format!("give it with --set {name}=VALUE"),
                ));
            }
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shipped_playbooks_parse() {
        for (n, t) in SHIPPED {
            parse(t, n).unwrap();
        }
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = parse(
            "name = \"x\"\n[[step]]\nid = \"a\"\nrun = [\"hunt\"]\nbogus = 1\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("p.toml:5:1:"), "{e}");
        let e = parse(
            "name = \"x\"\n[[step]]\nid = \"a\"\nexec = \"ufw\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("p.toml:4:8:") && e.to_string().contains("absolute"),
            "{e}"
        );
        let e = parse(
            "name = \"x\"\n[[step]]\nid = \"a\"\nrun = [\"hunt\"]\nrequires = [\"b\"]\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an earlier step"), "{e}");
    }

    #[test]
    fn variables() {
        let mut v = BTreeMap::new();
        v.insert("r".to_string(), "age1x".to_string());
        assert_eq!(substitute("-r=${r}!", &v, "s").unwrap(), "-r=age1x!");
        assert!(substitute("${nope}", &v, "s").is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s, "p");
        }
    }
}
