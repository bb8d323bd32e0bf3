//! `plugins.allow` entries that name no plugin OpenClaw knows (its
//! `plugins.allow_phantom_entries`): an allowlisted id nobody owns is a
//! free slot for whoever installs a plugin under that id next.
//!
//! OpenClaw decides it against its plugin registry (`collectPluginsTrust
//! Findings`, `loadPluginRegistrySnapshot`, `createPluginRegistryId
//! Normalizer`): the installed extension dirs, and every plugin its
//! discovery finds, bundled ones included, by id or by an alias (a
//! provider, channel, CLI backend, model-catalog key or legacy id of its
//! manifest). The bundled plugins are those of the package that runs the
//! audit; `ir` reads the host's own installed package instead, found
//! where the host's records say it ran from (the config audit, each config
//! write's argv: `state/openclaw.sqlite` in 2026.9, `logs/config-audit.jsonl`
//! before) or at the usual global npm prefixes, all
//! under `--root` and never through a link out of it. Without that
//! package the check is reported as not checked, never guessed.
//! `plugins.load.paths` are read too (absolute or `~` ones); workspace
//! plugins (`<workspace>/.openclaw/extensions`) are not, as OpenClaw's
//! audit's registry does not hold them either (checked: an allowlisted
//! workspace plugin is a phantom to it).

use super::Findings;
use crate::host::Root;
use crate::openclaw::{Deployment, config};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A manifest is small; a huge one is not parsed.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Plugin dirs read per extensions dir, at most.
const MAX_PLUGINS: usize = 2_000;

/// Global npm prefixes, host paths (`~` is the user's home).
const PREFIXES: &[&str] = &[
    "/usr/lib/node_modules/openclaw",
    "/usr/local/lib/node_modules/openclaw",
    "/opt/homebrew/lib/node_modules/openclaw",
    "~/.npm-global/lib/node_modules/openclaw",
    "~/.local/lib/node_modules/openclaw",
];

/// The package that last wrote the config, from 2026.9's config audit
/// (rows `config-audit` of `diagnostic_events` in `state/openclaw.sqlite`,
/// each with the writer's argv), newest first, bounded.
fn package_from_diagnostics(dep: &Deployment) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Event {
        #[serde(default)]
        argv: Vec<String>,
    }
    let db = dep.paths.state_dir.join("state/openclaw.sqlite");
    crate::safefs::lstat(&db).ok().flatten()?;
    let conn = crate::sqlite::open_isolated(&db).ok()?;
    if !crate::sqlite::has_table(&conn.conn, "diagnostic_events") {
        return None;
    }
    let mut st = conn
        .conn
        .prepare(
            "SELECT payload_json FROM diagnostic_events WHERE scope = 'config-audit' \
             AND length(payload_json) <= 65536 ORDER BY created_at DESC, sequence DESC LIMIT 200",
        )
        .ok()?;
    let rows = st.query_map([], |r| r.get::<_, String>(0)).ok()?;
    rows.flatten()
        .filter_map(|j| serde_json::from_str::<Event>(&j).ok())
        .flat_map(|e| e.argv.into_iter().skip(1).take(1))
        .find_map(|a| crate::contain::recover::package_of(&a))
}

/// The host's installed openclaw package, a local path: from the config
/// audit's argv (2026.9's database, else the older JSONL log), else the
/// first global prefix holding one. Every candidate is resolved as a
/// chroot would and must be a real openclaw package (its package.json
/// says so).
fn installed_package(dep: &Deployment) -> Option<PathBuf> {
    let root = Root::new(&dep.root);
    let home = dep.paths.user_home.clone();
    let logged = package_from_diagnostics(dep).into_iter().chain(
        crate::contain::recover::package_from_config_audit(&dep.paths.state_dir),
    );
    let prefixes = PREFIXES.iter().map(|p| match p.strip_prefix("~/") {
        Some(rel) => home.join(rel),
        None => PathBuf::from(p),
    });
    logged
        .into_iter()
        .chain(prefixes)
        .filter_map(|host| root.resolve(&host))
        .map(|host| root.join(host))
        .find(|local| crate::contain::recover::is_openclaw_package(local))
}

/// The package's bundled plugin dir, as OpenClaw's
/// `resolveBundledDirFromPackageRoot` picks it for an installed package.
fn bundled_dir(pkg: &Path) -> Option<PathBuf> {
    let built = pkg.join("dist/extensions");
    if !is_real_dir(&built) {
        return None;
    }
    let runtime = pkg.join("dist-runtime/extensions");
    Some(if is_real_dir(&runtime) {
        runtime
    } else {
        built
    })
}

fn is_real_dir(p: &Path) -> bool {
    crate::safefs::lstat(p)
        .ok()
        .flatten()
        .is_some_and(|m| m.file_type().is_dir())
}

/// The strings of an array field.
fn strs(v: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
}

/// The keys of an object field.
fn keys(v: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
}

/// A manifest's id and the aliases OpenClaw's id normalizer maps to it
/// (`listPluginRegistryNormalizerAliases`), all trimmed and lowercased.
fn manifest_names(m: &Value) -> Option<(String, Vec<String>)> {
    let id = m.get("id")?.as_str()?.trim().to_lowercase();
    if id.is_empty() {
        return None;
    }
    let setup = m.get("setup");
    let setup_providers = setup
        .and_then(|s| s.get("providers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_owned));
    let catalog = m.get("modelCatalog");
    let aliases = strs(m.get("providers"))
        .chain(strs(m.get("channels")))
        .chain(setup_providers)
        .chain(strs(m.get("cliBackends")))
        .chain(strs(setup.and_then(|s| s.get("cliBackends"))))
        .chain(keys(catalog.and_then(|c| c.get("providers"))))
        .chain(keys(catalog.and_then(|c| c.get("aliases"))))
        .chain(keys(m.get("providerAuthAliases")))
        .chain(strs(m.get("legacyPluginIds")))
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    Some((id, aliases))
}

/// The id and aliases of the plugin at `dir`, from its readable
/// `openclaw.plugin.json` (never through a link).
fn manifest_at(dir: &Path) -> Option<(String, Vec<String>)> {
    let bytes =
        crate::safefs::read_bounded(&dir.join("openclaw.plugin.json"), MAX_MANIFEST_BYTES).ok()?;
    manifest_names(&serde_json::from_slice::<Value>(&bytes).ok()?)
}

/// The plugin ids and aliases of every plugin dir under `dir` (links
/// neither walked nor read).
fn manifests_in(dir: &Path, ids: &mut BTreeSet<String>, aliases: &mut BTreeSet<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten().take(MAX_PLUGINS) {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some((id, al)) = manifest_at(&e.path()) {
            ids.insert(id);
            aliases.extend(al);
        }
    }
}

/// The entries of `allow` OpenClaw calls phantom, given the installed dir
/// names and the registry's ids and aliases (all lowercase).
fn phantoms(
    allow: &[Value],
    installed: &BTreeSet<String>,
    ids: &BTreeSet<String>,
    aliases: &BTreeSet<String>,
) -> Vec<String> {
    allow
        .iter()
        .filter_map(Value::as_str)
        .filter(|e| *e != "group:plugins")
        .filter(|e| {
            let lower = e.to_lowercase();
            if installed.contains(&lower) || ids.contains(&lower) {
                return false;
            }
            // The normalizer trims; an alias maps to a plugin in the index.
            let t = e.trim().to_lowercase();
            t.is_empty() || !(ids.contains(&t) || aliases.contains(&t))
        })
        .map(str::to_owned)
        .collect()
}

/// Runs the check: only with installed extensions and a non-empty
/// `plugins.allow`, as OpenClaw does.
pub(super) fn check(out: &mut Findings, dep: &Deployment, c: &Value) {
    let installed: BTreeSet<String> = super::fs::plugin_dirs(dep).into_iter().collect();
    let Some(allow) = config::get(c, "plugins.allow")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return;
    };
    if installed.is_empty() {
        return;
    }
    let Some(bundled) = installed_package(dep).and_then(|p| bundled_dir(&p)) else {
        out.raise(
            "ir.plugins.allow_not_checked",
            "plugins.allow_phantom_entries was not checked: the host's installed openclaw package (its dist/extensions, the bundled plugins) was not found in logs/config-audit.jsonl or the global npm prefixes",
        );
        return;
    };
    let (mut ids, mut aliases) = (BTreeSet::new(), BTreeSet::new());
    manifests_in(&bundled, &mut ids, &mut aliases);
    manifests_in(
        &dep.paths.state_dir.join("extensions"),
        &mut ids,
        &mut aliases,
    );
    // A load path is a plugin dir, or a dir of plugins.
    for dir in super::config_dirs(dep, c, "plugins.load.paths") {
        match manifest_at(&dir) {
            Some((id, al)) => {
                ids.insert(id);
                aliases.extend(al);
            }
            None => manifests_in(&dir, &mut ids, &mut aliases),
        }
    }
    let p = phantoms(allow, &installed, &ids, &aliases);
    if !p.is_empty() {
        out.raise(
            "plugins.allow_phantom_entries",
            format!(
                "plugins.allow entries with no installed plugin: {}.",
                p.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn phantoms_are_entries_no_plugin_or_alias_owns() {
        let allow = json!([
            "evil-plugin",
            "Telegram",
            " openai-codex ",
            "ghost",
            "",
            "group:plugins",
            3
        ]);
        let got = phantoms(
            allow.as_array().unwrap(),
            &set(&["evil-plugin"]),
            &set(&["telegram", "openai"]),
            &set(&["openai-codex"]),
        );
        assert_eq!(got, ["ghost", ""]);
        let none = phantoms(
            json!(["evil-plugin"]).as_array().unwrap(),
            &set(&["evil-plugin"]),
            &set(&[]),
            &set(&[]),
        );
        assert!(none.is_empty());
    }

    #[test]
    fn manifest_aliases_follow_openclaws_normalizer() {
        let m = json!({
            "id": " OpenAI ",
            "providers": ["openai", "openai-codex"],
            "channels": ["x-chan"],
            "setup": {"providers": [{"id": "oa-setup"}], "cliBackends": ["codex-cli"]},
            "modelCatalog": {"providers": {"oa-cat": {}}, "aliases": {"gpt": {}}},
            "providerAuthAliases": {"oa-auth": "openai"},
            "legacyPluginIds": ["old-openai"]
        });
        let (id, al) = manifest_names(&m).unwrap();
        assert_eq!(id, "openai");
        for a in [
            "openai-codex",
            "x-chan",
            "oa-setup",
            "codex-cli",
            "oa-cat",
            "gpt",
            "oa-auth",
            "old-openai",
        ] {
            assert!(al.contains(&a.to_string()), "{a}");
        }
        assert!(manifest_names(&json!({"id": " "})).is_none());
    }
}
