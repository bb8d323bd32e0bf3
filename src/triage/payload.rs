//! The programs an entry runs: which words of a command name a file that
//! will be executed, so `ir persistence` can read that file and judge it
//! too (a cron line `*/5 * * * * root /usr/local/bin/sync.sh` is only as
//! clean as `sync.sh`).
//!
//! Only words in command position are taken (the first word of each
//! pipeline part, after `VAR=value` and wrappers such as `nohup`, the word
//! after an interpreter or `-c`, and the path after `pam_exec.so` and its
//! options): a config path in an argument (`--conf=/etc/x.conf`) is data,
//! not a program.

/// Words that run the word after them.
const WRAPPERS: &[&str] = &[
    "exec", "nohup", "setsid", "sudo", "env", "nice", "ionice", "chroot", "time", "command",
    "xargs", "timeout", "flock", "runuser", "doas",
];

/// Interpreters: the first path after one is the script it runs.
fn is_interpreter(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    let stem = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    [
        "sh", "bash", "dash", "zsh", "ksh", "fish", "python", "perl", "ruby", "node", "nodejs",
        "php", "lua", "tclsh", "busybox", "source",
    ]
    .contains(&stem)
        || base == "."
}

/// At most this many programs are followed per entry.
const MAX_PROGRAMS: usize = 4;

/// Absolute paths of the programs a command runs, in order, without repeats.
pub fn programs(cmd: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        if w.starts_with('/') && w.len() > 1 && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    };
    if let Some((_, rest)) = cmd.split_once("pam_exec.so") {
        // pam_exec.so [options] /path/to/program [args]
        if let Some(p) = rest.split_whitespace().find(|w| w.starts_with('/')) {
            add(p);
        }
    }
    for part in cmd.split([';', '|', '&', '\n', '(', ')', '`']) {
        let words: Vec<&str> = part
            .split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            .filter(|w| !w.is_empty())
            .collect();
        let mut at_command = true;
        for (i, w) in words.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| words[j]);
            let after_runner = prev.is_some_and(|p| p == "-c" || is_interpreter(p));
            if at_command && w.contains('=') && !w.starts_with('/') {
                continue; // VAR=value before the command
            }
            if at_command || after_runner {
                add(w);
            }
            let wrapper = WRAPPERS.contains(&w.rsplit('/').next().unwrap_or(w));
            // After a wrapper or interpreter, the next word may still be the command.
            at_command = wrapper || (at_command && w.starts_with('-'));
        }
    }
    out.truncate(MAX_PROGRAMS);
    out
}

/// Program paths of a whole script: the command-position words of its lines.
pub fn script_programs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in text.lines().take(2000).map(str::trim) {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        for p in programs(l) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.len() >= MAX_PROGRAMS * 2 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn command_position_words() {
        assert_eq!(
            programs("/usr/local/bin/sync.sh --now"),
            ["/usr/local/bin/sync.sh"]
        );
        assert_eq!(
            programs("test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/e2scrub_all_cron"),
            ["/usr/lib/e2scrub_all_cron"]
        );
        assert_eq!(programs("bash /opt/x.sh arg"), ["/opt/x.sh"]);
        assert_eq!(programs("/bin/sh -c '/opt/y.sh'"), ["/bin/sh", "/opt/y.sh"]);
        assert_eq!(programs("nohup /srv/a >/dev/null"), ["/srv/a"]);
        assert_eq!(
            programs("auth optional pam_exec.so expose_authtok /var/log/spy.sh"),
            ["/var/log/spy.sh"]
        );
        assert!(programs("/usr/sbin/nginx --conf=/etc/nginx/x.conf").len() == 1);
        assert!(programs("run-parts --report /etc/cron.hourly").is_empty());
        assert!(programs("ENV=/tmp/x").is_empty());
    }

    #[test]
    fn scripts_yield_their_commands() {
        let s = "#!/bin/sh\n# /not/this\n/opt/.x/run &\nexit 0\n";
        assert_eq!(script_programs(s), ["/opt/.x/run"]);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = programs(&s);
            let _ = script_programs(&s);
        }
    }
}
