//! Time windows given on the command line: `--since 24h`, `--since
//! 2026-11-24T00:00:00Z`, `--until 2026-11-25`.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

/// A half-open interval of instants, in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub since_ns: i128,
    pub until_ns: i128,
}

/// Parses a duration like `90s`, `30m`, `24h`, `7d`, `2w`.
pub fn parse_duration(s: &str) -> Option<i128> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i128 = num.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(n * secs * 1_000_000_000)
}

fn ns(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

/// Parses an instant: RFC 3339, or a date (midnight UTC), or a duration
/// before `now`.
pub fn parse_instant(s: &str, now: DateTime<Utc>) -> Result<i128> {
    if let Some(d) = parse_duration(s) {
        return Ok(ns(now) - d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(ns(t.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(ns(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    Err(crate::exit::hint(
        format!("cannot read {:?} as a time", crate::sanitize::escape(s)),
        "use a duration (24h, 7d, 30m), a date (2026-11-24) or RFC 3339 (2026-11-24T00:00:00Z)",
    ))
}

impl Window {
    /// The window from `--since` (default 24h) and `--until` (default now).
    pub fn parse(since: Option<&str>, until: Option<&str>, now: DateTime<Utc>) -> Result<Window> {
        let since_ns = parse_instant(since.unwrap_or("24h"), now)?;
        let until_ns = match until {
            Some(u) => parse_instant(u, now)?,
            None => ns(now),
        };
        if until_ns < since_ns {
            return Err(crate::exit::hint("--until is before --since", "swap them"));
        }
        Ok(Window { since_ns, until_ns })
    }

    /// Whether an instant (s, ns) falls inside.
    pub fn contains(&self, secs: i64, nsec: i64) -> bool {
        let t = i128::from(secs) * 1_000_000_000 + i128::from(nsec);
        t >= self.since_ns && t <= self.until_ns
    }

    /// The window's length in nanoseconds.
    pub fn len_ns(&self) -> i128 {
        self.until_ns - self.since_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let w = Window::parse(Some("24h"), None, now).unwrap();
        assert_eq!(w.len_ns(), 86_400 * 1_000_000_000);
        let w = Window::parse(Some("2026-11-24"), Some("2026-11-24T12:00:00Z"), now).unwrap();
        assert!(w.contains(1_795_996_800 + 3600, 0) || w.len_ns() == 12 * 3_600_000_000_000);
        assert!(Window::parse(Some("yesterday"), None, now).is_err());
        assert!(Window::parse(Some("1h"), Some("2h"), now).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let now = Utc::now();
            let _ = Window::parse(Some(&s), Some(&s), now);
        }
    }
}
