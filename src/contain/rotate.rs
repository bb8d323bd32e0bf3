//! `ir rotate`: new gateway, hooks and remote secrets; paired devices and DM
//! approvals revoked; every provider credential listed by fingerprint for
//! revocation at its provider; proof that the gateway now rejects the old
//! token.
//!
//! Secrets are generated from the OS CSPRNG, held in zeroizing memory,
//! written atomically with mode 600 (comments and layout of the JSON5
//! config kept), never journaled (a fingerprint is) and never printed
//! unless `--show-token`. Everything this rewrites or deletes (the config
//! with the old tokens, `.env`, the pairing tables, the `.bak` copies) must
//! first sit in a verified bundle ([`super::gate`]).

use super::gate;
use crate::case::Run;
use crate::openclaw::config::{self, SecretInfo};
use crate::openclaw::edit::ConfigSet;
use crate::openclaw::{Deployment, layout};
use crate::record::RotateRecord;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A new secret: 32 bytes from the OS CSPRNG, hex (64 characters), the
/// same alphabet OpenClaw's own tokens use.
pub fn new_token() -> Result<Zeroizing<String>> {
    let mut b = Zeroizing::new([0u8; 32]);
    getrandom::fill(b.as_mut()).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let mut s = Zeroizing::new(String::with_capacity(64));
    for x in b.iter() {
        use std::fmt::Write as _;
        let _ = write!(s, "{x:02x}");
    }
    Ok(s)
}

/// What may be recorded about a secret: the first 12 hex of its SHA-256.
pub fn fingerprint(secret: &str) -> String {
    crate::journal::sha256_hex(secret.as_bytes())[..12].to_string()
}

/// A provider credential to revoke at its provider.
pub use crate::record::Credential;

/// A credential found, with its value for redaction only (never printed,
/// journaled or serialised; `None` when there is no single value).
pub type Found = (Credential, Option<Zeroizing<String>>);

fn credential(provider: &str, kind: &str, source: String, secret: &str) -> Found {
    let chars: Vec<char> = secret.chars().collect();
    let last4: String = if chars.len() >= 12 {
        chars[chars.len() - 4..].iter().collect()
    } else {
        "****".into()
    };
    let c = Credential {
        provider: crate::sanitize::escape(provider),
        kind: kind.into(),
        source,
        last4: crate::sanitize::escape(&last4),
        sha256_prefix: fingerprint(secret),
    };
    (c, Some(Zeroizing::new(secret.to_string())))
}

fn profiles_credentials(v: &Value, source: &str, out: &mut Vec<Found>) {
    let map = v
        .get("profiles")
        .and_then(Value::as_object)
        .or_else(|| v.as_object());
    for (name, p) in map.into_iter().flatten() {
        let provider = p
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or(name.split(':').next().unwrap_or(name));
        let kind = p
            .get("type")
            .or_else(|| p.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or("api_key");
        for field in ["key", "apiKey", "api_key", "token", "access", "refresh"] {
            if let Some(s) = p
                .get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                let k = if matches!(field, "access" | "refresh") {
                    format!("{kind}:{field}")
                } else {
                    kind.to_string()
                };
                out.push(credential(provider, &k, format!("{source} ({name})"), s));
            }
        }
    }
}

/// Every provider and channel credential the deployment holds.
pub fn provider_credentials(dep: &Deployment) -> Vec<Credential> {
    credentials_with_values(dep)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

/// Every provider and channel credential with its value, for redacting
/// what `ir` prints and records.
pub fn credentials_with_values(dep: &Deployment) -> Vec<Found> {
    let mut out = Vec::new();
    auth_profile_files(dep, &mut out);
    auth_profile_store(dep, &mut out);
    if let Some(c) = &dep.config {
        config_credentials(c, &mut out);
    }
    dotenv_credentials(&dep.paths.state_dir, &mut out);
    whatsapp_sessions(dep, &mut out);
    out
}

/// `agents/<id>/agent/auth-profiles.json` and `auth.json` (file layout).
fn auth_profile_files(dep: &Deployment, out: &mut Vec<Found>) {
    let s = &dep.paths.state_dir;
    for a in layout::agent_dirs(s) {
        for f in ["auth-profiles.json", "auth.json"] {
            let p = s.join("agents").join(&a).join("agent").join(f);
            if let Ok(b) = crate::safefs::read_bounded(&p, 16 << 20)
                && let Ok(v) = serde_json::from_slice::<Value>(&b)
            {
                profiles_credentials(&v, &format!("agents/{a}/agent/{f}"), out);
            }
        }
    }
}

/// The `auth_profile_store` table of every database (SQLite layout).
fn auth_profile_store(dep: &Deployment, out: &mut Vec<Found>) {
    for db in &dep.layout.databases {
        let Ok(c) = crate::sqlite::open_isolated(&db.path) else {
            continue;
        };
        if !crate::sqlite::has_table(&c.conn, "auth_profile_store") {
            continue;
        }
        let rows: Vec<(String, String)> = c
            .conn
            .prepare("SELECT store_key, store_json FROM auth_profile_store")
            .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .unwrap_or_default();
        let name = db.path.file_name().unwrap_or_default().to_string_lossy();
        for (k, j) in rows {
            if let Ok(v) = serde_json::from_str::<Value>(&j) {
                profiles_credentials(&v, &format!("{name}:auth_profile_store:{k}"), out);
            }
        }
    }
}

/// `models.providers.*.apiKey` and secret-looking keys of every channel.
fn config_credentials(c: &Value, out: &mut Vec<Found>) {
    if let Some(Value::Object(ps)) = config::get(c, "models.providers") {
        for (name, p) in ps {
            if let Some(k) = p
                .get("apiKey")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
            {
                let source = format!("config models.providers.{name}.apiKey");
                out.push(credential(name, "api_key", source, k));
            }
        }
    }
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (ch, v) in chs {
            for (k, val) in v.as_object().into_iter().flatten() {
                let lk = k.to_ascii_lowercase();
                if (lk.contains("token") || lk.contains("secret") || lk.contains("password"))
                    && let Some(s) = val.as_str()
                {
                    let source = format!("config channels.{ch}.{k}");
                    out.push(credential(ch, "channel", source, s));
                }
            }
        }
    }
}

/// Secret-named variables of `$STATE/.env`.
fn dotenv_credentials(state_dir: &Path, out: &mut Vec<Found>) {
    for (k, v) in crate::openclaw::config::dotenv(state_dir) {
        if crate::evidence::volatile::is_secret_env(&k) && !v.is_empty() {
            let provider = k.split('_').next().unwrap_or(&k).to_ascii_lowercase();
            out.push(credential(&provider, "env", format!(".env {k}"), &v));
        }
    }
}

/// WhatsApp linked-device sessions (`credentials/whatsapp/*`).
fn whatsapp_sessions(dep: &Deployment, out: &mut Vec<Found>) {
    let Ok(rd) = std::fs::read_dir(dep.paths.credentials_dir.join("whatsapp")) else {
        return;
    };
    for e in rd.flatten() {
        let c = Credential {
            provider: "whatsapp".into(),
            kind: "linked-device session".into(),
            source: format!(
                "credentials/whatsapp/{}",
                crate::sanitize::escape_os(&e.file_name())
            ),
            last4: "-".into(),
            sha256_prefix: "-".into(),
        };
        out.push((c, None));
    }
}

pub use crate::record::{Proof, Revoked, Rotated};

/// What `ir rotate` did: the record it journals, and the new token when
/// `--show-token` asked for it (never serialised).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub record: RotateRecord,
    #[serde(skip)]
    pub new_gateway_token: Option<Zeroizing<String>>,
}

impl std::ops::Deref for Report {
    type Target = RotateRecord;
    fn deref(&self) -> &RotateRecord {
        &self.record
    }
}

impl std::ops::DerefMut for Report {
    fn deref_mut(&mut self) -> &mut RotateRecord {
        &mut self.record
    }
}

/// Options of `ir rotate`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub show_token: bool,
    pub purge_backups: bool,
    pub force: bool,
}

/// Sends `POST /tools/invoke` with an empty body: the gateway answers 401
/// to a wrong token and 400 to a right one, and invokes nothing.
pub fn probe(addr: std::net::SocketAddr, token: &str) -> Result<u16> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let req = Zeroizing::new(format!(
        "POST /tools/invoke HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    ));
    s.write_all(req.as_bytes())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf)?;
    let line = String::from_utf8_lossy(&buf[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status from the gateway")
}

fn prove(dep: &Deployment, old: Option<&str>, new: &str) -> Proof {
    let Some(l) = dep
        .runtime
        .listeners
        .iter()
        .find(|l| l.local.is_loopback() || l.local.is_unspecified())
    else {
        return Proof {
            checked: false,
            detail: "no loopback listener of the gateway to check against".into(),
            ..Proof::default()
        };
    };
    let ip = if l.local.is_unspecified() {
        if l.local.is_ipv4() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        }
    } else {
        l.local
    };
    let addr = std::net::SocketAddr::new(ip, l.local_port);
    // The gateway hot-reloads the token; give it a few seconds.
    let t0 = Instant::now();
    let mut p = Proof {
        checked: true,
        ..Proof::default()
    };
    let interrupted = loop {
        p.new_accepted = probe(addr, new).ok().map(|c| c != 401);
        p.old_rejected = old.and_then(|o| probe(addr, o).ok()).map(|c| c == 401);
        let done = p.new_accepted == Some(true) && p.old_rejected.unwrap_or(true);
        // Ctrl-C stops the wait; the rotation itself is already whole.
        let interrupted = !done && crate::signal::interrupted();
        if done || interrupted || t0.elapsed() > Duration::from_secs(15) {
            break interrupted;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    p.detail = format!(
        "POST /tools/invoke on {addr}: new token {}, old token {}{}",
        match p.new_accepted {
            Some(true) => "accepted",
            Some(false) => "REJECTED",
            None => "not checked (no answer)",
        },
        match p.old_rejected {
            Some(true) => "rejected",
            Some(false) => "STILL ACCEPTED",
            None => "not checked",
        },
        if interrupted { " (interrupted)" } else { "" }
    );
    p
}

/// Sets `KEY=value` in a dotenv file, keeping every other line.
fn set_dotenv(path: &Path, key: &str, value: &str) -> Result<()> {
    let old = match crate::safefs::read_bounded(path, 4 << 20) {
        Ok(b) => Zeroizing::new(String::from_utf8(b).context(".env is not UTF-8")?),
        Err(e) if e.is_not_found() => Zeroizing::new(String::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Zeroizing::new(String::with_capacity(old.len() + value.len() + 64));
    let mut done = false;
    for l in old.lines() {
        let t = l.trim_start().trim_start_matches("export ");
        if t.split_once('=').is_some_and(|(k, _)| k.trim() == key) {
            out.push_str(&format!("{key}={value}\n"));
            done = true;
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !done {
        out.push_str(&format!("{key}={value}\n"));
    }
    if crate::safefs::lstat(path)?.is_some() {
        crate::safefs::replace_file(path, out.as_bytes(), 0o600)
    } else {
        crate::safefs::write_atomic(path, out.as_bytes(), 0o600)
    }
}

/// Opens the state database and takes its write lock, before anything
/// else changes: a live writer makes rotation refuse with nothing done.
fn lock_state_db(db: &Path) -> Result<rusqlite::Connection> {
    crate::sqlite::lock_for_write(
        db,
        "nothing was changed: stop whatever holds it and run ir rotate again",
    )
}

/// The file behind a file SecretRef: `secrets.providers.<p>.path` when the
/// config names one, else `$STATE/secrets.json`.
fn secrets_file(dep: &Deployment, provider: Option<&str>) -> PathBuf {
    let named = provider.and_then(|p| {
        dep.config
            .as_ref()
            .and_then(|c| config::get_str(c, &format!("secrets.providers.{p}.path")))
    });
    match named {
        Some(p) if p.starts_with('/') => PathBuf::from(p),
        Some(p) => dep.paths.state_dir.join(p),
        None => dep.paths.state_dir.join("secrets.json"),
    }
}

/// Sets a string in a JSON secrets file, at a JSON pointer (`/a/b`) or a
/// top-level key, creating what is missing.
fn set_secret_file(path: &Path, id: &str, value: &str) -> Result<()> {
    let mut v: Value = match crate::safefs::read_bounded(path, 4 << 20) {
        Ok(b) => serde_json::from_slice(&Zeroizing::new(b))
            .with_context(|| format!("{} is not JSON", path.display()))?,
        Err(e) if e.is_not_found() => json!({}),
        Err(e) => return Err(e.into()),
    };
    let keys: Vec<&str> = match id.strip_prefix('/') {
        Some(p) => p.split('/').collect(),
        None => vec![id],
    };
    let (last, parents) = keys.split_last().context("empty SecretRef id")?;
    let mut cur = &mut v;
    for k in parents {
        if !cur.get(*k).is_some_and(Value::is_object) {
            cur[*k] = json!({});
        }
        cur = &mut cur[*k];
    }
    cur[*last] = Value::String(value.to_string());
    let text = Zeroizing::new(serde_json::to_vec_pretty(&v)?);
    if crate::safefs::lstat(path)?.is_some() {
        crate::safefs::replace_file(path, &text, 0o600)
    } else {
        crate::safefs::write_atomic(path, &text, 0o600)
    }
}

/// Deletes the pairing rows inside the transaction [`lock_state_db`] began.
fn revoke_sqlite(
    c: &rusqlite::Connection,
    db: &Path,
    run: &Run,
    out: &mut Vec<Revoked>,
) -> Result<()> {
    let mut counts = Vec::new();
    for t in [
        "device_pairing_paired",
        "device_auth_tokens",
        "device_pairing_pending",
        "channel_pairing_allow_entries",
    ] {
        if crate::sqlite::has_table(c, t) {
            let n = c.execute(&format!("DELETE FROM {t}"), [])?;
            counts.push((t, n));
        }
    }
    c.execute_batch("COMMIT")?;
    for (t, n) in counts {
        let e = Revoked {
            what: t.to_string(),
            location: db.display().to_string(),
            count: n as u64,
        };
        run.event("revoke", serde_json::to_value(&e)?)?;
        out.push(e);
    }
    Ok(())
}

fn legacy_pairing_files(dep: &Deployment) -> Vec<PathBuf> {
    let s = &dep.paths.state_dir;
    let mut v = Vec::new();
    let mut add = |dir: PathBuf, pred: &dyn Fn(&str) -> bool| {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if pred(&n) && e.file_type().is_ok_and(|t| t.is_file()) {
                    v.push(e.path());
                }
            }
        }
    };
    add(s.join("devices"), &|n| n.ends_with(".json"));
    add(s.join("nodes"), &|n| {
        n == "paired.json" || n == "pending.json"
    });
    add(dep.paths.credentials_dir.clone(), &|n| {
        n.ends_with("-allowFrom.json")
    });
    v.sort();
    v
}

/// What a rotation will rewrite or delete, decided before anything changes.
struct Plan {
    /// The config and its includes, parsed for a comment-preserving edit.
    edit: ConfigSet,
    running: bool,
    env_file: PathBuf,
    /// `openclaw.json.bak*` copies to purge (only with `--purge-backups`).
    backups: Vec<PathBuf>,
    state_db: PathBuf,
    legacy: Vec<PathBuf>,
    /// Every existing file the run rewrites or deletes: what the evidence
    /// gate must find preserved.
    touched: Vec<PathBuf>,
}

/// Step 1: reads the config (a broken one refuses before anything
/// changes) and lists what the run will touch.
fn plan(dep: &Deployment, o: &Options) -> Result<Plan> {
    let edit = ConfigSet::open(&dep.paths.config, &dep.paths.state_dir)?;
    let running = dep.runtime.running;
    let s = &dep.paths.state_dir;
    let mut touched: Vec<PathBuf> = vec![dep.paths.config.clone()];
    touched.extend(edit.included().map(Path::to_path_buf));
    let env_file = s.join(".env");
    if matches!(dep.gateway.token, SecretInfo::Ref { ref source, .. } if source == "env")
        && crate::safefs::lstat(&env_file)?.is_some()
    {
        touched.push(env_file.clone());
    }
    if let SecretInfo::Ref {
        ref source,
        ref provider,
        ..
    } = dep.gateway.token
        && source == "file"
    {
        let f = secrets_file(dep, provider.as_deref());
        if crate::safefs::lstat(&f)?.is_some() {
            touched.push(f);
        }
    }
    let backups = if o.purge_backups {
        config_backups(s)
    } else {
        Vec::new()
    };
    touched.extend(backups.iter().cloned());
    let state_db = s.join("state/openclaw.sqlite");
    let legacy = legacy_pairing_files(dep);
    if !running {
        for suffix in ["", "-wal"] {
            let p = PathBuf::from(format!("{}{suffix}", state_db.display()));
            if crate::safefs::lstat(&p)?.is_some_and(|m| m.len() > 0) {
                touched.push(p);
            }
        }
        touched.extend(legacy.iter().cloned());
    }
    Ok(Plan {
        edit,
        running,
        env_file,
        backups,
        state_db,
        legacy,
        touched,
    })
}

/// The `openclaw.json.bak*` files of the state dir, sorted.
fn config_backups(state_dir: &Path) -> Vec<PathBuf> {
    let mut backups = Vec::new();
    if let Ok(rd) = std::fs::read_dir(state_dir) {
        for e in rd.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with("openclaw.json.bak")
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                backups.push(e.path());
            }
        }
        backups.sort();
    }
    backups
}

/// Step 2: the evidence gate. Everything the plan touches must sit in a
/// verified bundle, or `--force` goes ahead and is journaled.
fn pass_gate(
    plan: &Plan,
    case_journal: &Path,
    root: &crate::host::Root,
    o: &Options,
    run: &Run,
) -> Result<Vec<gate::Uncovered>> {
    let pairs: Vec<(PathBuf, PathBuf)> = plan
        .touched
        .iter()
        .map(|p| (p.clone(), root.host_view(p)))
        .collect();
    let (_, forced) = gate::require(case_journal, &pairs, o.force, "rotation")?;
    if !forced.is_empty() {
        run.event("forced", json!({"uncovered": forced}))?;
    }
    Ok(forced)
}

/// The new gateway token, and the old one when it was in the config.
struct NewToken {
    old: Option<Zeroizing<String>>,
    new: Zeroizing<String>,
}

/// Step 3a: a new gateway token, written where the deployment keeps it
/// (config, `.env`, a secrets file); a SecretRef of another source is left
/// to the operator.
fn rotate_gateway_token(
    dep: &Deployment,
    plan: &Plan,
    root: &crate::host::Root,
    r: &mut Report,
) -> Result<NewToken> {
    let edit = &plan.edit;
    let old = edit.get_str("gateway.auth.token");
    let token = new_token()?;
    let new_fp = fingerprint(&token);
    let rotated = |written_to: String, old_fingerprint: Option<String>| Rotated {
        secret: "gateway.auth.token".into(),
        written_to,
        old_fingerprint,
        new_fingerprint: new_fp.clone(),
    };
    match &dep.gateway.token {
        SecretInfo::Ref {
            source,
            provider,
            id,
        } => match source.as_str() {
            "env" => {
                let key = id
                    .clone()
                    .unwrap_or_else(|| "OPENCLAW_GATEWAY_TOKEN".into());
                set_dotenv(&plan.env_file, &key, &token)?;
                r.rotated.push(rotated(format!(".env {key}"), None));
                r.operator_actions.push(format!("the gateway reads {key} from its environment at start: restart it (and update any service unit or shell that sets {key})"));
            }
            "file" => {
                let file = secrets_file(dep, provider.as_deref());
                let id = id.clone().unwrap_or_else(|| "/gateway/auth/token".into());
                set_secret_file(&file, &id, &token)?;
                let shown = crate::sanitize::escape_path(&root.host_view(&file));
                r.rotated.push(rotated(format!("{shown} {id}"), None));
            }
            other => {
                r.operator_actions.push(format!(
                    "gateway.auth.token is a SecretRef with source \"{other}\" (provider {}, id {}): rotate it at that source, then restart the gateway; ir did not change it",
                    provider.as_deref().unwrap_or("-"),
                    id.as_deref().unwrap_or("-")
                ));
            }
        },
        _ => {
            edit.set_string("gateway.auth.token", &token)?;
            if dep.gateway.auth_mode.is_none() {
                edit.set_string("gateway.auth.mode", "token")?;
            }
            let old_fp = old.as_deref().map(|t| fingerprint(t));
            r.rotated
                .push(rotated(edit.where_is("gateway.auth.token"), old_fp));
        }
    }
    Ok(NewToken { old, new: token })
}

/// Step 3b: the other secrets in the config, each its own new value.
fn rotate_config_secrets(edit: &ConfigSet, r: &mut Report) -> Result<()> {
    for key in [
        "hooks.token",
        "gateway.remote.token",
        "gateway.remote.password",
    ] {
        if let Some(old) = edit.get_str(key) {
            let v = new_token()?;
            edit.set_string(key, &v)?;
            r.rotated.push(Rotated {
                secret: key.into(),
                written_to: edit.where_is(key),
                old_fingerprint: Some(fingerprint(&old)),
                new_fingerprint: fingerprint(&v),
            });
            if key.starts_with("gateway.remote") {
                r.operator_actions.push(format!("{key} is this machine's credential for a remote gateway: set the same new value there"));
            }
        }
    }
    Ok(())
}

/// Step 3c: paired devices and DM approvals, offline only (a running
/// gateway would write them back).
fn revoke_pairings(
    dep: &Deployment,
    plan: &Plan,
    db_lock: Option<&rusqlite::Connection>,
    root: &crate::host::Root,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    if plan.running {
        r.revocation_skipped = Some("the gateway is running: stop it (ir stop) and run ir rotate again to revoke paired devices and DM approvals".into());
        return Ok(());
    }
    if let Some(c) = db_lock {
        revoke_sqlite(c, &plan.state_db, run, &mut r.revoked)?;
    }
    for p in &plan.legacy {
        std::fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
        let e = Revoked {
            what: "legacy pairing file".into(),
            location: crate::sanitize::escape_path(&root.host_view(p)),
            count: 1,
        };
        run.event("revoke", serde_json::to_value(&e)?)?;
        r.revoked.push(e);
    }
    if let Some(c) = &dep.config
        && let Some(Value::Object(chs)) = config::get(c, "channels")
        && chs
            .values()
            .any(|v| v.get("allowFrom").is_some() || v.get("groupAllowFrom").is_some())
    {
        r.operator_actions.push("channels.*.allowFrom / groupAllowFrom in the config still allow senders: prune them by hand".into());
    }
    Ok(())
}

/// Step 3d: the config backups that hold the old secrets.
fn purge_backups(plan: &Plan, root: &crate::host::Root, run: &Run, r: &mut Report) -> Result<()> {
    for b in &plan.backups {
        std::fs::remove_file(b).with_context(|| format!("removing {}", b.display()))?;
        let shown = crate::sanitize::escape_path(&root.host_view(b));
        run.event("purged", json!({"path": shown}))?;
        r.backups_purged.push(shown);
    }
    Ok(())
}

/// Step 3: the act. It is not interrupted: each write is atomic, but a
/// rotation stopped half-way would leave a new token beside unrevoked
/// pairings, so once begun it finishes and a Ctrl-C that arrived meanwhile
/// ends the run as interrupted.
fn act(
    dep: &Deployment,
    plan: &Plan,
    db_lock: Option<&rusqlite::Connection>,
    root: &crate::host::Root,
    run: &Run,
    r: &mut Report,
) -> Result<NewToken> {
    let token = rotate_gateway_token(dep, plan, root, r)?;
    rotate_config_secrets(&plan.edit, r)?;
    plan.edit.save()?;
    for x in &r.rotated {
        run.event("rotated", serde_json::to_value(x)?)?;
    }
    crate::signal::test_pause("rotate:act");
    revoke_pairings(dep, plan, db_lock, root, run, r)?;
    purge_backups(plan, root, run, r)?;
    Ok(token)
}

/// Step 4: the proof against the running gateway, when there is one to ask.
fn proof(
    dep: &Deployment,
    plan: &Plan,
    root: &crate::host::Root,
    r: &Report,
    token: &NewToken,
) -> Proof {
    let unchecked = |detail: &str| Proof {
        checked: false,
        detail: detail.into(),
        ..Proof::default()
    };
    let in_config = r
        .rotated
        .iter()
        .any(|x| x.secret == "gateway.auth.token" && x.written_to.starts_with("config"));
    if !root.is_live() {
        unchecked("--root is not the live host: nothing to check against")
    } else if plan.running && in_config {
        prove(dep, token.old.as_deref().map(|s| s.as_str()), &token.new)
    } else if plan.running {
        unchecked("the token is not in the config: restart the gateway, then check")
    } else {
        unchecked("no gateway running: the new token applies at its next start")
    }
}

/// Rotates and revokes: plan, evidence gate, act, proof.
///
/// Ctrl-C is honoured up to the act (nothing has changed yet) and during
/// the proof's wait for the gateway (everything has changed); the act
/// itself always runs to its end.
pub fn rotate(
    dep: &Deployment,
    case_journal: &Path,
    root: &crate::host::Root,
    o: &Options,
    run: &Run,
) -> Result<Report> {
    let mut r = Report::default();
    let plan = plan(dep, o)?;
    crate::signal::test_pause("rotate:plan");
    crate::signal::check()?;
    r.forced = pass_gate(&plan, case_journal, root, o, run)?;
    // Taking the database's write lock changes nothing (a rollback undoes
    // it) and makes a live writer refuse the rotation before it starts.
    let db_lock = if !plan.running && crate::safefs::lstat(&plan.state_db)?.is_some() {
        Some(lock_state_db(&plan.state_db)?)
    } else {
        None
    };
    crate::signal::check()?;
    let token = act(dep, &plan, db_lock.as_ref(), root, run, &mut r)?;
    // What must be revoked at each provider (read only).
    r.provider_credentials = provider_credentials(dep);
    run.event(
        "provider credentials",
        json!({"count": r.provider_credentials.len(), "credentials": r.provider_credentials}),
    )?;
    r.proof = proof(dep, &plan, root, &r, &token);
    run.event("proof", serde_json::to_value(&r.proof)?)?;
    // An interrupted proof is incomplete, not a failure: the run ends as
    // interrupted with the report of what was done.
    if r.proof.checked
        && !crate::signal::interrupted()
        && (r.proof.new_accepted != Some(true) || r.proof.old_rejected == Some(false))
    {
        bail!("the gateway did not take the new token: {}", r.proof.detail);
    }
    if o.show_token {
        r.new_gateway_token = Some(token.new);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(*a, *b);
        assert_eq!(fingerprint("x").len(), 12);
    }

    #[test]
    fn secret_file_pointer() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secrets.json");
        std::fs::write(&p, r#"{"other": 1}"#).unwrap();
        set_secret_file(&p, "/gateway/token", "t").unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["gateway"]["token"], "t");
        assert_eq!(v["other"], 1);
    }

    #[test]
    fn dotenv_keeps_other_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".env");
        std::fs::write(&p, "# keys\nA=1\nexport GW=old\nB=2\n").unwrap();
        set_dotenv(&p, "GW", "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# keys\nA=1\nGW=new\nB=2\n"
        );
    }
}
