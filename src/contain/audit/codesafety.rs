//! `ir audit --deep`: OpenClaw's code-safety checks
//! (`collectPluginsCodeSafetyFindings`, `collectInstalledSkillsCodeSafetyFindings`
//! in 2026.9.6's `dist/audit-extra.async-*.mjs`), run over the installed
//! plugins (`$STATE/extensions/*`) and the agents' and managed skills with
//! the rules of [`super::codescan`]. Findings roll up as OpenClaw's do: one
//! `plugins.code_safety` / `skills.code_safety` per plugin or skill,
//! critical when any rule finding is critical, else warn; a plugin's
//! manifest adds `manifest_parse_error`, `entry_path` and `entry_escape`.
//!
//! File selection is OpenClaw's (JS/TS extensions, dot entries and
//! `node_modules` skipped, symlinks never walked, 500 files and 1 MiB a
//! file per dir), plus bounds of `ir`'s own on dirs visited and total bytes
//! read (past which `ir.code_safety.scan_capped` says the scan stopped).
//! Nothing is executed; a manifest entry or link that leaves the plugin
//! or skill dir is never read.

use super::Findings;
use super::codescan::{ScanFinding, scan_skill_content, scan_source};
use super::skills::{resolve_under, skill_files_in};
use crate::openclaw::Deployment;
use crate::record::Severity;
use crate::sanitize::escape_path;
use anyhow::Result;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// OpenClaw's `SCANNABLE_EXTENSIONS`.
const EXTENSIONS: &[&str] = &["js", "ts", "mjs", "cjs", "mts", "cts", "jsx", "tsx"];
/// OpenClaw's `DEFAULT_MAX_SCAN_FILES` and `DEFAULT_MAX_FILE_BYTES`.
const MAX_FILES: usize = 500;
const MAX_FILE_BYTES: u64 = 1 << 20;
/// OpenClaw's `MAX_PLUGIN_MANIFEST_BYTES` and `MAX_SKILL_AUDIT_FILE_BYTES`.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
const MAX_SKILL_MD_BYTES: u64 = 256_000;
/// `ir`'s own bounds: dirs visited per scanned dir, entries read per dir,
/// and bytes read by the whole deep scan.
const MAX_DIRS: usize = 20_000;
const MAX_ENTRIES: usize = 10_000;
const MAX_TOTAL_BYTES: u64 = 512 << 20;

/// One dir's scan: files scanned and findings, with paths relative to it.
#[derive(Default)]
struct Summary {
    scanned: usize,
    findings: Vec<(String, ScanFinding)>,
}

/// Bytes left to read in this deep scan.
struct Budget {
    left: u64,
    capped: bool,
}

/// Runs the plugin and skill code-safety checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment) -> Result<()> {
    let mut budget = Budget {
        left: MAX_TOTAL_BYTES,
        capped: false,
    };
    plugins(out, dep, &mut budget)?;
    skills(out, dep, &mut budget)?;
    if budget.capped {
        out.raise(
            "ir.code_safety.scan_capped",
            format!("the deep code scan stopped after reading {MAX_TOTAL_BYTES} bytes; plugins and skills past it were not scanned"),
        );
    }
    Ok(())
}

/// The installed plugin dirs (OpenClaw's `listInstalledPluginDirs`), by
/// their own names: real dirs only, less install debris.
fn plugin_dirs(dep: &Deployment) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dep.paths.state_dir.join("extensions")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .take(MAX_ENTRIES)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let n = n.trim().to_lowercase();
            !n.is_empty()
                && n != "node_modules"
                && n != ".openclaw-install-backups"
                && !n.starts_with('.')
                && !n.ends_with(".bak")
                && !n.contains(".backup-")
                && !n.contains(".disabled")
        })
        .collect();
    v.sort();
    v
}

fn plugins(out: &mut Findings, dep: &Deployment, budget: &mut Budget) -> Result<()> {
    let ext = dep.paths.state_dir.join("extensions");
    for name in plugin_dirs(dep) {
        crate::signal::check()?;
        let dir = ext.join(&name);
        let entries = match manifest_entries(&dir) {
            Ok(e) => e,
            Err(e) => {
                out.raise(
                    "plugins.code_safety.manifest_parse_error",
                    format!(
                        "plugin \"{name}\": {e}; the openclaw.extensions entry list is unavailable"
                    ),
                );
                Vec::new()
            }
        };
        let mut forced = Vec::new();
        let mut escaped = Vec::new();
        for e in entries {
            let Some(p) = inside(&dir, &e) else {
                escaped.push(e);
                continue;
            };
            if skipped_path(&e) {
                out.raise(
                    "plugins.code_safety.entry_path",
                    format!("plugin \"{name}\": extension entry \"{e}\" points to a hidden or node_modules path"),
                );
            }
            forced.push(p);
        }
        if !escaped.is_empty() {
            out.raise(
                "plugins.code_safety.entry_escape",
                format!(
                    "plugin \"{name}\": extension entries escape the plugin dir: {}",
                    escaped.join(", ")
                ),
            );
        }
        let s = scan_dir(&dep.root, &dir, &forced, budget);
        roll_up(
            out,
            "plugins.code_safety",
            &format!("Plugin \"{name}\""),
            &s,
        );
    }
    Ok(())
}

/// `openclaw.extensions` of a plugin's `package.json` (none when the file
/// is absent or blank); an error for a file OpenClaw cannot parse.
fn manifest_entries(dir: &Path) -> Result<Vec<String>> {
    let p = dir.join("package.json");
    if crate::safefs::lstat(&p)?.is_none() {
        return Ok(Vec::new());
    }
    let raw = crate::safefs::read_bounded(&p, MAX_MANIFEST_BYTES)?;
    let raw = String::from_utf8_lossy(&raw);
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(&raw)
        .map_err(|e| anyhow::anyhow!("cannot parse {}: {e}", escape_path(&p)))?;
    let list = v.pointer("/openclaw/extensions").and_then(Value::as_array);
    Ok(list
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// `dir/entry` resolved lexically (Node's `path.resolve`), when it stays
/// inside `dir`.
fn inside(dir: &Path, entry: &str) -> Option<PathBuf> {
    let mut p = if entry.starts_with('/') {
        PathBuf::from("/")
    } else {
        dir.to_path_buf()
    };
    for c in Path::new(entry).components() {
        match c {
            Component::ParentDir => {
                p.pop();
            }
            Component::Normal(s) => p.push(s),
            _ => {}
        }
    }
    (p != dir && p.starts_with(dir)).then_some(p)
}

/// OpenClaw's `extensionUsesSkippedScannerPath`.
fn skipped_path(entry: &str) -> bool {
    entry
        .split(['/', '\\'])
        .any(|s| s == "node_modules" || (s.starts_with('.') && s != "." && s != ".."))
}

/// The skill roots OpenClaw's audit loads (`resolveWorkspaceSkillSourcePlan`
/// less the bundled and plugin ones), lowest precedence first: the global
/// ones (`skills.load.extraDirs`, the managed `$STATE/skills`,
/// `~/.agents/skills` with the default state dir), then each workspace's
/// `.agents/skills` and `skills`. Local paths under `--root`; a relative
/// extra dir (relative to the gateway's cwd) is skipped.
fn skill_roots(dep: &Deployment) -> (Vec<PathBuf>, Vec<[PathBuf; 2]>) {
    let mut global: Vec<PathBuf> = dep
        .config
        .as_ref()
        .map(|c| super::config_dirs(dep, c, "skills.load.extraDirs"))
        .unwrap_or_default();
    global.push(dep.paths.state_dir.join("skills"));
    if dep.paths.state_dir_source == "default" {
        let root = crate::host::Root::new(&dep.root);
        global.push(root.join(dep.paths.user_home.join(".agents/skills")));
    }
    let mut seen = HashSet::new();
    let workspaces = dep
        .agents
        .iter()
        .filter_map(|a| a.workspace.clone())
        .filter(|ws| seen.insert(ws.clone()))
        .map(|ws| [ws.join(".agents/skills"), ws.join("skills")])
        .collect();
    (global, workspaces)
}

/// A skill's name as OpenClaw's loader takes it (the frontmatter's
/// `name`, else the dir's name), and whether the loader takes it at all:
/// it drops a skill without a `description`. A `SKILL.md` `ir` cannot
/// read counts as loaded (the louder guess).
fn skill_head(md: &Path, dir: &Path) -> (String, bool) {
    let dir_name = || {
        dir.file_name()
            .map_or(String::new(), |n| n.to_string_lossy().trim().to_string())
    };
    let Ok(text) = crate::safefs::read_bounded(md, MAX_SKILL_MD_BYTES) else {
        return (dir_name(), true);
    };
    let text = String::from_utf8_lossy(&text);
    let name = frontmatter_field(&text, "name").unwrap_or_else(dir_name);
    let loaded = !name.is_empty() && frontmatter_field(&text, "description").is_some();
    (name, loaded)
}

/// A `key:` of a `---` frontmatter block, unquoted, if not blank.
fn frontmatter_field(text: &str, key: &str) -> Option<String> {
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    lines
        .take_while(|l| l.trim_end() != "---")
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| {
            let v = v.trim();
            let unq = ['"', '\'']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)));
            unq.unwrap_or(v).trim().to_string()
        })
        .filter(|v| !v.is_empty())
}

/// One skill found under a root: its dir, its `SKILL.md`, its name, and
/// whether OpenClaw's loader takes it.
struct Skill {
    dir: PathBuf,
    md: PathBuf,
    name: String,
    loaded: bool,
}

/// The skill dirs that win their name in at least one workspace: OpenClaw
/// merges each workspace's roots by name, a later root replacing an
/// earlier one's skill, and scans only what is left.
fn winners(
    listed: &[(PathBuf, Vec<Skill>)],
    global: &[PathBuf],
    ws: &[[PathBuf; 2]],
) -> HashSet<PathBuf> {
    let contexts: Vec<Vec<&PathBuf>> = if ws.is_empty() {
        vec![global.iter().collect()]
    } else {
        ws.iter()
            .map(|w| global.iter().chain(w.iter()).collect())
            .collect()
    };
    let mut win = HashSet::new();
    for roots in contexts {
        let mut by_name: std::collections::HashMap<&str, &PathBuf> =
            std::collections::HashMap::new();
        for r in roots {
            for (_, found) in listed.iter().filter(|(root, _)| root == r) {
                // A skill the loader drops shadows nothing.
                for s in found.iter().filter(|s| s.loaded) {
                    by_name.insert(&s.name, &s.dir);
                }
            }
        }
        win.extend(by_name.into_values().cloned());
    }
    win
}

/// Every skill of [`skill_roots`], each dir once, less those inside
/// plugins (OpenClaw scans those as plugins). A skill another of the same
/// name shadows in every workspace is one OpenClaw does not scan: its
/// findings go under `ir.skills.code_safety_shadowed` (live again the day
/// the winner is removed); one its loader drops (no description) under
/// `ir.skills.code_safety_not_loaded` (live again the day one is added).
fn skills(out: &mut Findings, dep: &Deployment, budget: &mut Budget) -> Result<()> {
    let ext = resolve_under(&dep.root, &dep.paths.state_dir.join("extensions"));
    let (global, ws) = skill_roots(dep);
    let mut seen = HashSet::new();
    let mut listed = Vec::new();
    for root in global.iter().chain(ws.iter().flatten()) {
        let mut found = Vec::new();
        for md in skill_files_in(&dep.root, root).0 {
            crate::signal::check()?;
            let Some(dir) = md.parent().map(Path::to_path_buf) else {
                continue;
            };
            if ext.as_ref().is_some_and(|e| dir.starts_with(e)) {
                continue;
            }
            let (name, loaded) = skill_head(&md, &dir);
            found.push(Skill {
                dir,
                md,
                name,
                loaded,
            });
        }
        listed.push((root.clone(), found));
    }
    let win = winners(&listed, &global, &ws);
    for s in listed.iter().flat_map(|(_, s)| s) {
        crate::signal::check()?;
        if !seen.insert(s.dir.clone()) {
            continue;
        }
        let sum = scan_skill(&dep.root, s, budget);
        let shown = format!("Skill \"{}\" ({})", s.name, escape_path(&s.dir));
        if !s.loaded {
            let what = format!("{shown}, not loaded (its SKILL.md has no description)");
            roll_up(out, "ir.skills.code_safety_not_loaded", &what, &sum);
        } else if win.contains(&s.dir) {
            roll_up(out, "skills.code_safety", &shown, &sum);
        } else {
            let what = format!("{shown}, shadowed by a same-named skill of higher precedence");
            roll_up(out, "ir.skills.code_safety_shadowed", &what, &sum);
        }
    }
    Ok(())
}

/// One skill's dir scan plus its `SKILL.md`.
fn scan_skill(root: &Path, s: &Skill, budget: &mut Budget) -> Summary {
    let mut sum = scan_dir(root, &s.dir, &[], budget);
    if let Ok(text) = crate::safefs::read_bounded(&s.md, MAX_SKILL_MD_BYTES) {
        let text = String::from_utf8_lossy(&text);
        sum.scanned += 1;
        for f in scan_skill_content(&text)
            .into_iter()
            .chain(scan_source(&text))
        {
            sum.findings.push(("SKILL.md".into(), f));
        }
    }
    sum
}

/// One finding for a dir: critical if any rule finding is, else warn if
/// any is, listing the findings of that severity.
fn roll_up(out: &mut Findings, id: &str, what: &str, s: &Summary) {
    for (sev, word) in [
        (Severity::Critical, "critical issue(s)"),
        (Severity::Warn, "warning(s)"),
    ] {
        let hits: Vec<String> = s
            .findings
            .iter()
            .filter(|(_, f)| f.severity == sev)
            .map(|(p, f)| format!("[{}] {} ({p}:{})", f.rule, f.message, f.line))
            .collect();
        if !hits.is_empty() {
            let detail = format!(
                "{what}: {} {word} in {} scanned file(s): {}",
                hits.len(),
                s.scanned,
                hits.join("; ")
            );
            // A shadowed skill's findings are a warning whatever their
            // own severity: nothing loads the skill today.
            let sev = if id.starts_with("ir.") {
                Severity::Warn
            } else {
                sev
            };
            out.raise_at(id, sev, detail);
            return;
        }
    }
}

/// OpenClaw's `scanDirectoryWithSummary` over `dir`: the forced files
/// first, then the walk, 500 files at most.
fn scan_dir(root: &Path, dir: &Path, forced: &[PathBuf], budget: &mut Budget) -> Summary {
    let mut s = Summary::default();
    let Some(real) = resolve_under(root, dir) else {
        return s;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for f in forced.iter().filter(|f| scannable(f)) {
        // A forced entry may be a link: read it only if it lands inside.
        let r = resolve_under(root, f).filter(|r| r.starts_with(&real) && !files.contains(r));
        if let Some(r) = r.filter(|r| is_file(r)) {
            files.push(r);
        }
    }
    for f in walk(&real) {
        if files.len() >= MAX_FILES {
            break;
        }
        if !files.contains(&f) {
            files.push(f);
        }
    }
    for f in files.iter().take(MAX_FILES) {
        let Ok(Some(m)) = crate::safefs::lstat(f) else {
            continue;
        };
        if !m.is_file() || m.len() > MAX_FILE_BYTES {
            continue;
        }
        if m.len() > budget.left {
            budget.capped = true;
            break;
        }
        let Ok(bytes) = crate::safefs::read_bounded(f, MAX_FILE_BYTES) else {
            continue;
        };
        budget.left -= bytes.len() as u64;
        s.scanned += 1;
        let rel = f.strip_prefix(&real).map_or_else(
            |_| {
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            },
            escape_path,
        );
        for x in scan_source(&String::from_utf8_lossy(&bytes)) {
            s.findings.push((rel.clone(), x));
        }
    }
    s
}

fn is_file(p: &Path) -> bool {
    crate::safefs::lstat(p)
        .ok()
        .flatten()
        .is_some_and(|m| m.is_file())
}

fn scannable(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str()))
}

/// OpenClaw's `walkDirWithLimit`: depth first, dot entries and
/// `node_modules` skipped, links neither walked nor read; up to
/// `MAX_FILES + 1` candidates.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut dirs = 0;
    while let Some(d) = stack.pop() {
        dirs += 1;
        if files.len() > MAX_FILES || dirs > MAX_DIRS {
            break;
        }
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().take(MAX_ENTRIES).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let n = name.to_string_lossy();
            if n.starts_with('.') || n == "node_modules" {
                continue;
            }
            let Ok(t) = e.file_type() else { continue };
            let p = d.join(&name);
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() && scannable(&p) && files.len() <= MAX_FILES {
                files.push(p);
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_names_come_from_the_frontmatter_else_the_dir() {
        let md = |t: &str| frontmatter_field(t, "name");
        assert_eq!(
            frontmatter_field("---\nnamed: x\ndescription: ''\n---\n", "description"),
            None
        );
        assert_eq!(
            md("---\nname: evil\ndescription: x\n---\n"),
            Some("evil".into())
        );
        assert_eq!(md("---\nname: \"q r\" \n---\n"), Some("q r".into()));
        assert_eq!(md("---\ndescription: x\n---\nname: late\n"), None);
        assert_eq!(md("# no frontmatter\nname: x\n"), None);
        assert_eq!(md("---\nname:   \n---\n"), None);
        assert_eq!(md("---\nnamed: x\n---\n"), None);
    }

    #[test]
    fn a_skill_shadowed_in_every_workspace_is_not_a_winner() {
        let sk = |dir: &str, name: &str| Skill {
            dir: PathBuf::from(dir),
            md: PathBuf::from(dir).join("SKILL.md"),
            name: name.into(),
            loaded: true,
        };
        let managed = PathBuf::from("/s/skills");
        let (a, b) = (PathBuf::from("/a/skills"), PathBuf::from("/b/skills"));
        let listed = vec![
            (
                managed.clone(),
                vec![sk("/s/skills/evil", "evil"), sk("/s/skills/x", "x")],
            ),
            (a.clone(), vec![sk("/a/skills/evil", "evil")]),
            (b.clone(), vec![sk("/b/skills/other", "x")]),
        ];
        let none = PathBuf::from("/none");
        let ws = [[none.clone(), a.clone()], [none.clone(), b.clone()]];
        let win = winners(&listed, std::slice::from_ref(&managed), &ws);
        // evil: shadowed in a, but b has none of its own, so it wins there.
        assert!(win.contains(Path::new("/s/skills/evil")));
        assert!(win.contains(Path::new("/s/skills/x")));
        // Shadowed in the only workspace: not a winner.
        let win = winners(&listed, std::slice::from_ref(&managed), &ws[..1]);
        assert!(!win.contains(Path::new("/s/skills/evil")));
        assert!(win.contains(Path::new("/a/skills/evil")));
        // A same-named skill the loader drops shadows nothing.
        let mut dropped = listed;
        dropped[1].1[0].loaded = false;
        let win = winners(&dropped, std::slice::from_ref(&managed), &ws[..1]);
        assert!(win.contains(Path::new("/s/skills/evil")));
        let listed = dropped;
        // No workspace at all: the global roots alone.
        let win = winners(&listed, std::slice::from_ref(&managed), &[]);
        assert!(win.contains(Path::new("/s/skills/evil")));
    }

    #[test]
    fn entries_resolve_lexically_and_escapes_are_caught() {
        let d = Path::new("/s/extensions/p");
        assert_eq!(inside(d, "./dist/index.js"), Some(d.join("dist/index.js")));
        assert_eq!(inside(d, "../q/x.js"), None);
        assert_eq!(inside(d, "/etc/passwd"), None);
        assert_eq!(inside(d, "a/../../p/x.js"), Some(d.join("x.js")));
        assert!(skipped_path("node_modules/x/index.js"));
        assert!(skipped_path("./.hidden/x.js"));
        assert!(!skipped_path("./dist/../src/x.js"));
    }

    #[test]
    fn manifests_forced_entries_and_the_byte_budget() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let p = r.join("p");
        std::fs::create_dir_all(p.join("dist")).unwrap();
        assert!(manifest_entries(&p).unwrap().is_empty(), "no package.json");
        std::fs::write(p.join("package.json"), " \n").unwrap();
        assert!(manifest_entries(&p).unwrap().is_empty(), "blank");
        std::fs::write(p.join("package.json"), "{\"name\": ").unwrap();
        assert!(manifest_entries(&p).is_err(), "malformed");
        let m = r#"{"openclaw":{"extensions":[" ./dist/a.js ", 3, ""]}}"#;
        std::fs::write(p.join("package.json"), m).unwrap();
        assert_eq!(manifest_entries(&p).unwrap(), ["./dist/a.js"]);
        // A forced entry linked out of the plugin dir is never read.
        std::fs::write(r.join("outside.js"), "eval(x);").unwrap();
        std::os::unix::fs::symlink(r.join("outside.js"), p.join("dist/a.js")).unwrap();
        let mut b = Budget {
            left: 1 << 20,
            capped: false,
        };
        let s = scan_dir(r, &p, &[p.join("dist/a.js")], &mut b);
        assert_eq!((s.scanned, s.findings.len()), (0, 0));
        std::fs::write(p.join("dist/b.js"), "eval(x);").unwrap();
        let s = scan_dir(r, &p, &[], &mut b);
        assert_eq!((s.scanned, s.findings.len(), b.capped), (1, 1, false));
        let mut tiny = Budget {
            left: 3,
            capped: false,
        };
        let s = scan_dir(r, &p, &[], &mut tiny);
        assert_eq!((s.scanned, tiny.capped), (0, true));
    }

    #[test]
    fn the_walk_skips_dots_node_modules_links_and_other_extensions() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "a.js",
            "b.TS",
            "c.md",
            ".h/x.js",
            "node_modules/y.js",
            "sub/z.mjs",
        ] {
            let p = r.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::os::unix::fs::symlink("/etc", r.join("link")).unwrap();
        std::os::unix::fs::symlink(r.join("a.js"), r.join("l.js")).unwrap();
        let mut got: Vec<_> = walk(r)
            .iter()
            .map(|p| p.strip_prefix(r).unwrap().to_string_lossy().into_owned())
            .collect();
        got.sort();
        assert_eq!(got, ["a.js", "b.TS", "sub/z.mjs"]);
    }
}
