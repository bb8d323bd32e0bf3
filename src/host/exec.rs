//! Running a host program, when `ir` must (systemctl, launchctl).
//!
//! Never through `PATH` (the CVE-2026-25253 class: a planted `openclaw` or
//! `systemctl` earlier in PATH): only absolute paths, with a cleared
//! environment, no stdin, bounded output and a timeout after which the
//! child is killed.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a program did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ran {
    pub program: String,
    pub args: Vec<String>,
    pub status: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// True when it exited 0.
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }
}

/// The first of `candidates` that exists as a regular file.
pub fn find_program(candidates: &[&'static str]) -> Option<&'static str> {
    candidates
        .iter()
        .copied()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
}

/// Runs `program` (an absolute path) with `args`, killing it after `timeout`.
pub fn run(program: &str, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Result<Ran> {
    if !Path::new(program).is_absolute() {
        bail!("refusing to run {program:?}: only absolute paths are run, never through PATH");
    }
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Its own process group: a timeout kills everything it started, and a
    // grandchild left holding its output cannot outlive the deadline.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let pgid = rustix::process::Pid::from_raw(child.id() as i32);
    let kill_group = || {
        if let Some(p) = pgid {
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
        }
    };
    let reader = |r: Box<dyn Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.take(1 << 20).read_to_end(&mut b);
            let _ = tx.send(b);
        });
        rx
    };
    let r_out = reader(Box::new(child.stdout.take().expect("piped")));
    let r_err = reader(Box::new(child.stderr.take().expect("piped")));
    let t0 = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s.code();
        }
        if t0.elapsed() > timeout || crate::signal::interrupted() {
            kill_group();
            let _ = child.wait();
            timed_out = !crate::signal::interrupted();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // What it left behind may hold the pipes open: wait for the output
    // only until the deadline, then kill the group.
    let mut collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        let left = timeout
            .saturating_sub(t0.elapsed())
            .max(Duration::from_millis(100));
        rx.recv_timeout(left).unwrap_or_else(|_| {
            timed_out = true;
            kill_group();
            rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
        })
    };
    let (out, err) = (collect(r_out), collect(r_err));
    let text = |b: Vec<u8>| crate::sanitize::escape(String::from_utf8_lossy(&b).trim());
    Ok(Ran {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        status,
        timed_out,
        stdout: text(out),
        stderr: text(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_relative_and_times_out() {
        assert!(run("sleep", &["1"], &[], Duration::from_secs(1)).is_err());
        let r = run("/bin/sleep", &["5"], &[], Duration::from_millis(200)).unwrap();
        assert!(r.timed_out);
        let r = run("/bin/echo", &["hi"], &[], Duration::from_secs(5)).unwrap();
        assert!(r.ok() && r.stdout == "hi");
    }

    /// Regression: a grandchild holding stdout made a 2 s timeout run 40 s
    /// and report ok, and the grandchild survived.
    #[test]
    fn a_grandchild_holding_the_output_does_not_outlive_the_timeout() {
        let t0 = Instant::now();
        let r = run(
            "/bin/sh",
            &["-c", "sleep 30 & echo started"],
            &[],
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
        assert!(r.timed_out, "{r:?}");
    }
}
