//! Accounts from the host's `/etc/passwd`, read under the root.
//!
//! Persistence hunting and discovery must cover every passwd user, not just
//! `/home/*` (root's home is `/root`, service accounts live elsewhere).

use super::Root;
use serde::Serialize;

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// Parses passwd text; malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(User {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// The users in `<root>/etc/passwd` (empty if unreadable).
pub fn users(root: &Root) -> Vec<User> {
    crate::safefs::read_bounded(&root.join("/etc/passwd"), 16 << 20)
        .map(|b| parse_passwd(&String::from_utf8_lossy(&b)))
        .unwrap_or_default()
}

/// The name of a uid on the machine running `ir` (not under `--root`).
pub fn local_user_name(uid: u32) -> Option<String> {
    users(&Root::new("/"))
        .into_iter()
        .find(|u| u.uid == uid)
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_root_and_skips_junk() {
        let u = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\ngarbage\nbob:x:1000:1000::/home/bob:/bin/sh\n",
        );
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].home, "/root");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { let _ = parse_passwd(&s); }
    }
}
