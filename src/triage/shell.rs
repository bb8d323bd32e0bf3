//! The files a shell command writes, for `ir hunt`'s write rules.
//!
//! An agent that cannot use the write tool on SOUL.md can still run
//! `echo … >> SOUL.md`, `tee`, `sed -i`, `cp` or `dd of=`. The command is
//! split into shell words, pipeline stages and redirections (quotes and
//! backslashes honoured, no expansion), and each stage's write targets are
//! named so they meet the same rules as the write tool's path. `sh -c`
//! strings are followed a few levels deep; `apply_patch` file headers and
//! Python `open(…, 'w')` calls are read from the text as well.

use regex::Regex;
use std::sync::OnceLock;

/// How deep `bash -c '…'` inside `sh -c "…"` is followed.
const MAX_NESTING: usize = 3;
/// At most this many targets are named per command.
const MAX_TARGETS: usize = 64;

/// A shell token: a word or an operator.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// `|`, `||`, `&&`, `;`, `&`, newline: a stage ends.
    Sep,
    /// `>`, `>>`, `>|`, `&>`, `2>` and friends: the next word is written.
    Redirect,
    /// `<`, `<<`, `<<<`: the next word is read (or a heredoc tag).
    Input,
}

/// Splits `cmd` into words and operators, POSIX-style quoting; never fails
/// (an unclosed quote runs to the end).
fn tokens(cmd: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut it = cmd.chars().peekable();
    let flush = |w: &mut String, in_word: &mut bool, out: &mut Vec<Tok>| {
        if *in_word {
            out.push(Tok::Word(std::mem::take(w)));
            *in_word = false;
        }
    };
    while let Some(c) = it.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in it.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    word.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = it.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = it.next() {
                                if !matches!(e, '"' | '\\' | '$' | '`') {
                                    word.push('\\');
                                }
                                word.push(e);
                            }
                        }
                        _ => word.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = it.next() {
                    if e != '\n' {
                        word.push(e);
                    }
                }
            }
            ' ' | '\t' => flush(&mut word, &mut in_word, &mut out),
            '\n' | ';' | '|' | '&' | '(' | ')' => {
                // `2>&1`, `&>`: a redirection, not a separator.
                if c == '&' && it.peek() == Some(&'>') {
                    flush(&mut word, &mut in_word, &mut out);
                    it.next();
                    if it.peek() == Some(&'>') {
                        it.next();
                    }
                    out.push(Tok::Redirect);
                    continue;
                }
                flush(&mut word, &mut in_word, &mut out);
                if matches!(out.last(), Some(Tok::Sep)) && matches!(c, '|' | '&') {
                    continue;
                }
                out.push(Tok::Sep);
            }
            '>' => {
                // A file descriptor number before `>` is part of the operator.
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush(&mut word, &mut in_word, &mut out);
                while matches!(it.peek(), Some('>') | Some('|')) {
                    it.next();
                }
                if it.peek() == Some(&'&') {
                    // `>&2`: a descriptor, not a file.
                    it.next();
                    out.push(Tok::Input);
                } else {
                    out.push(Tok::Redirect);
                }
            }
            '<' => {
                flush(&mut word, &mut in_word, &mut out);
                while matches!(it.peek(), Some('<') | Some('-')) {
                    it.next();
                }
                out.push(Tok::Input);
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut in_word, &mut out);
    out
}

/// The files `cmd` writes: redirection targets, `tee` files, `sed -i`
/// files, the destination of `cp`/`mv`/`install`/`ln`/`rsync`, `dd of=`,
/// `apply_patch` headers and Python `open(…, 'w'|'a')` paths.
pub fn writes(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(cmd, 0, &mut out);
    out.extend(text_writes(cmd));
    out.retain(|p| !p.is_empty() && !p.starts_with("/dev/") && !p.starts_with('&'));
    out.sort();
    out.dedup();
    out.truncate(MAX_TARGETS);
    out
}

fn walk(cmd: &str, depth: usize, out: &mut Vec<String>) {
    let toks = tokens(cmd);
    let mut stage: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() && out.len() < MAX_TARGETS {
        match &toks[i] {
            Tok::Word(w) => stage.push(w.clone()),
            Tok::Redirect | Tok::Input => {
                if let Some(Tok::Word(w)) = toks.get(i + 1) {
                    if toks[i] == Tok::Redirect {
                        out.push(w.clone());
                    }
                    i += 1;
                }
            }
            Tok::Sep => {
                stage_writes(&stage, depth, out);
                stage.clear();
            }
        }
        i += 1;
    }
    stage_writes(&stage, depth, out);
}

/// Wrappers that run the rest of their words as a command.
const PREFIXES: &[&str] = &[
    "sudo", "doas", "env", "nohup", "command", "exec", "builtin", "nice", "ionice", "time",
    "stdbuf", "timeout", "xargs", "busybox",
];

/// The write targets of one simple command (its words, redirections out).
fn stage_writes(words: &[String], depth: usize, out: &mut Vec<String>) {
    let mut w = words;
    // Skip wrappers and their options, and `VAR=value` assignments.
    while let Some(first) = w.first() {
        let base = first.rsplit('/').next().unwrap_or(first);
        // `timeout 5 cmd`, `nice -n 5 cmd`: a bare number is an option's value.
        let number = first.chars().all(|c| c.is_ascii_digit());
        if PREFIXES.contains(&base) || first.starts_with('-') || is_assignment(first) || number {
            w = &w[1..];
        } else {
            break;
        }
    }
    let Some(first) = w.first() else { return };
    let prog = first.rsplit('/').next().unwrap_or(first);
    let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    let operands: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    match prog {
        "tee" => out.extend(operands.iter().map(|s| s.to_string())),
        "sed" | "perl" | "ruby"
            if args
                .iter()
                .any(|a| a.starts_with("-i") || *a == "--in-place") =>
        {
            if let Some(f) = operands.last() {
                out.push(f.to_string());
            }
        }
        "cp" | "mv" | "install" | "ln" | "rsync" | "scp" | "rename" => {
            if let Some(t) = args
                .iter()
                .position(|a| *a == "-t" || *a == "--target-directory")
            {
                if let Some(d) = args.get(t + 1) {
                    out.push(d.to_string());
                }
            } else if operands.len() >= 2 {
                out.push(operands[operands.len() - 1].to_string());
            }
        }
        "dd" => out.extend(
            args.iter()
                .filter_map(|a| a.strip_prefix("of="))
                .map(String::from),
        ),
        "truncate" | "touch" | "chattr" => out.extend(operands.iter().map(|s| s.to_string())),
        "curl" | "wget" => {
            for (i, a) in args.iter().enumerate() {
                if matches!(*a, "-o" | "-O" | "--output" | "--output-document") {
                    if let Some(f) = args.get(i + 1) {
                        out.push(f.to_string());
                    }
                }
            }
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "su" if depth < MAX_NESTING => {
            if let Some(c) = args
                .iter()
                .position(|a| *a == "-c" || a.ends_with('c') && a.starts_with('-'))
            {
                if let Some(inner) = args.get(c + 1) {
                    walk(inner, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Paths written by text inside the command: `apply_patch` headers
/// (`*** Update File: SOUL.md`) and Python's `open('path', 'w')`.
pub fn text_writes(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"\*\*\* (?:Add|Update|Delete) File: *([^\n\\]+)|\*\*\* Move to: *([^\n\\]+)|\bopen\(\s*['"]([^'"]{1,400})['"]\s*,\s*['"][wax]|\b(?:writeFileSync|appendFileSync|writeFile|appendFile)\(\s*['"`]([^'"`]{1,400})['"`]|\bPath\(\s*['"]([^'"]{1,400})['"]\)\.write_(?:text|bytes)"#,
        )
        .expect("text write regex")
    });
    re.captures_iter(text)
        .take(MAX_TARGETS)
        .filter_map(|c| {
            c.iter()
                .skip(1)
                .flatten()
                .next()
                .map(|m| m.as_str().trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(c: &str) -> Vec<String> {
        writes(c)
    }

    #[test]
    fn redirections_tee_sed_cp_dd_and_nesting() {
        assert_eq!(
            w("echo 'be evil' >> ~/.openclaw/workspace/SOUL.md"),
            ["~/.openclaw/workspace/SOUL.md"]
        );
        assert_eq!(w("cat <<EOF > AGENTS.md\nx\nEOF"), ["AGENTS.md"]);
        assert_eq!(w("echo x | sudo tee -a /etc/profile"), ["/etc/profile"]);
        assert_eq!(w("sed -i 's/a/b/' SOUL.md"), ["SOUL.md"]);
        assert_eq!(
            w("cp /tmp/evil.md ./skills/x/SKILL.md"),
            ["./skills/x/SKILL.md"]
        );
        assert_eq!(w("dd if=/tmp/a of=BOOT.md bs=1"), ["BOOT.md"]);
        assert_eq!(w("bash -c \"echo hi > 'HEARTBEAT.md'\""), ["HEARTBEAT.md"]);
        assert_eq!(
            w("ls 2>&1 >/dev/null; echo ok 2>/dev/null"),
            Vec::<String>::new()
        );
        assert_eq!(
            w("echo k >>~/.ssh/authorized_keys"),
            ["~/.ssh/authorized_keys"]
        );
        assert_eq!(
            w("python3 -c \"open('SOUL.md','a').write('x')\""),
            ["SOUL.md"]
        );
        assert_eq!(
            w("*** Begin Patch\n*** Update File: SOUL.md\n@@"),
            ["SOUL.md"]
        );
    }

    #[test]
    fn reads_and_everyday_commands_write_nothing() {
        for c in [
            "cat SOUL.md",
            "grep -r x . | head",
            "ls -la > /dev/null",
            "sort < in.txt",
            "git status && git diff",
        ] {
            assert!(w(c).is_empty(), "{c}: {:?}", w(c));
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_bounded(s in "\\PC{0,300}") {
            let t = writes(&s);
            prop_assert!(t.len() <= MAX_TARGETS);
            prop_assert!(t.iter().map(String::len).sum::<usize>() <= s.len() * 2 + 1);
        }
    }
}
