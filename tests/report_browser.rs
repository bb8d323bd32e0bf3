//! The demo's report.html in headless Chromium (Debian's `chromium`):
//! it loads with no console error and no network request, a screenshot
//! is taken, and the DOM holds the summary, the IOC table, the timeline
//! chart and every finding.
//!
//! Chromium is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: commands on fd 3, replies and events on
//! fd 4, each a JSON message ended by a NUL byte). That needs no port, no
//! websocket crate, no Node package and no chromedriver matching the
//! browser's version: the smallest thing that sees console errors and
//! every request.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Debian's chromium, by absolute path.
const CHROMIUM: &str = "/usr/bin/chromium";

/// A pipe whose ends sit at fds 10 and above, close-on-exec, so neither
/// can be 3 or 4 (the child's dup2 would then be a no-op and keep
/// close-on-exec).
fn pipe_high() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let high = |fd: i32| {
        let h = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        assert!(h >= 10);
        unsafe { libc::close(fd) };
        unsafe { OwnedFd::from_raw_fd(h) }
    };
    (high(fds[0]), high(fds[1]))
}

/// A DevTools session over the pipe.
struct Cdp {
    tx: std::fs::File,
    rx: mpsc::Receiver<Value>,
    next: u64,
    /// Every event received so far.
    events: Vec<Value>,
}

impl Cdp {
    /// Sends a command (to a page session when `session` is set) and waits
    /// for its reply, keeping the events that arrive meanwhile.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let mut msg = json!({"id": self.next, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.tx.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no reply to {method}: {e}"));
            if m["id"] == json!(self.next) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    /// Waits until an event named `method` has arrived.
    fn wait_for(&mut self, method: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.events.iter().any(|e| e["method"] == method) {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {method}: {e}"));
            self.events.push(m);
        }
    }

    /// Takes what arrives within `d`.
    fn drain(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while let Ok(m) = self
            .rx
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.events.push(m);
        }
    }
}

/// Starts Chromium headless on a fresh profile with the DevTools pipe.
fn chromium(profile: &Path) -> (std::process::Child, Cdp) {
    let (cmd_r, cmd_w) = pipe_high();
    let (ev_r, ev_w) = pipe_high();
    let (r3, w4) = (
        std::os::fd::AsRawFd::as_raw_fd(&cmd_r),
        std::os::fd::AsRawFd::as_raw_fd(&ev_w),
    );
    let mut c = std::process::Command::new(CHROMIUM);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-pipe",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1280,2000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    // SAFETY: only async-signal-safe dup2 calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(r3, 3) < 0 || libc::dup2(w4, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = c.spawn().expect("starting chromium");
    drop(cmd_r);
    drop(ev_w);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(ev_r);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = f.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(end) = buf.iter().position(|b| *b == 0) {
                let msg: Vec<u8> = buf.drain(..=end).collect();
                if let Ok(v) = serde_json::from_slice(&msg[..msg.len() - 1]) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let cdp = Cdp {
        tx: std::fs::File::from(cmd_w),
        rx,
        next: 0,
        events: Vec::new(),
    };
    (child, cdp)
}

/// Console errors, uncaught exceptions and error log entries (a blocked
/// fetch or a CSP violation is one) among the events.
fn errors(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| match e["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                matches!(
                    e["params"]["type"].as_str(),
                    Some("error" | "assert" | "warning")
                )
            }
            Some("Runtime.exceptionThrown") => true,
            Some("Log.entryAdded") => {
                matches!(
                    e["params"]["entry"]["level"].as_str(),
                    Some("error" | "warning")
                )
            }
            _ => false,
        })
        .map(|e| e["params"].to_string())
        .collect()
}

#[test]
fn the_demo_report_loads_in_headless_chromium_offline_and_whole() {
    if !Path::new(CHROMIUM).is_file() {
        crate::util::skip_or_fail("chromium is not installed (apt-get install chromium)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(d.path()).unwrap();
    let case = crate::report::demo(&dir.join("demo"));
    let js: Value =
        serde_json::from_slice(&std::fs::read(case.join("report.json")).unwrap()).unwrap();
    let page = format!("file://{}", case.join("report.html").display());
    let (mut child, mut cdp) = chromium(&dir.join("profile"));
    let target = cdp.call(None, "Target.createTarget", json!({"url": "about:blank"}));
    let attached = cdp.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    let s = attached["sessionId"].as_str().unwrap().to_string();
    let s = Some(s.as_str());
    for m in [
        "Runtime.enable",
        "Log.enable",
        "Network.enable",
        "Page.enable",
    ] {
        cdp.call(s, m, json!({}));
    }
    cdp.call(s, "Page.navigate", json!({"url": page}));
    cdp.wait_for("Page.loadEventFired");
    // Late errors (a script run on load, a lazy fetch) get a moment.
    cdp.drain(Duration::from_millis(500));
    let probe = r##"JSON.stringify({
        summary: document.querySelectorAll('#summary li').length,
        iocs: document.querySelectorAll('#iocs tbody tr').length,
        chart: document.querySelectorAll('#timeline-chart circle').length,
        chain: !!document.querySelector('#timeline-chart #attack-chain'),
        findings: Array.from(document.querySelectorAll('#findings tr.finding')).map(r => r.id),
        links: Array.from(document.querySelectorAll('#findings a[href^="#ev-"]'))
            .every(a => document.getElementById(a.getAttribute('href').slice(1)) !== null),
        sorted: (() => { const th = document.querySelector('#findings th'); th.click(); th.click();
            return document.querySelector('#findings tbody tr').id; })()
    })"##;
    let got = cdp.call(
        s,
        "Runtime.evaluate",
        json!({"expression": probe, "returnByValue": true}),
    );
    let dom: Value = serde_json::from_str(got["result"]["value"].as_str().unwrap()).unwrap();
    let shot = cdp.call(
        s,
        "Page.captureScreenshot",
        json!({"format": "png", "captureBeyondViewport": true}),
    );
    let _ = cdp.call(None, "Browser.close", json!({}));
    let _ = child.wait();

    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    std::fs::write(case.join("report.png"), &png).unwrap();

    let errs = errors(&cdp.events);
    assert!(errs.is_empty(), "console errors: {errs:#?}");
    let requests: Vec<&str> = cdp
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .collect();
    assert_eq!(requests, vec![page.as_str()], "requests besides the page");

    assert_eq!(dom["summary"], 5, "{dom}");
    assert_eq!(dom["iocs"], js["iocs"].as_array().unwrap().len(), "{dom}");
    assert!(dom["chart"].as_u64().unwrap() >= 10, "{dom}");
    assert_eq!(dom["chain"], true, "{dom}");
    assert_eq!(dom["links"], true, "{dom}");
    let want: Vec<&str> = js["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let mut ids: Vec<String> = serde_json::from_value(dom["findings"].clone()).unwrap();
    ids.sort();
    let mut want_sorted: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want_sorted.sort();
    assert_eq!(ids, want_sorted, "findings in the DOM");
    // Two clicks on "#" sort descending: the last finding comes first.
    assert_eq!(dom["sorted"], json!(want.last().unwrap()), "{dom}");
}
