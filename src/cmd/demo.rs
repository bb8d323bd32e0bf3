//! `ir demo`: a whole incident, in seconds, on a sample host. The real host
//! is never touched: everything happens under a temporary `--root`.

use crate::case::{Ctx, Global};
use crate::exit::Exit;
use crate::record::{StepEnd, StepStatus};
use age::secrecy::ExposeSecret;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Arguments of `ir demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to build the sample host and case (default: a new temp dir, kept).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Open report.html with the desktop's opener (xdg-open, open) when
    /// there is one; silently nothing otherwise.
    #[arg(long)]
    pub open: bool,
}

/// Builds the compromised host, then runs the `respond` playbook on it.
pub fn run(ctx: &Ctx, a: &DemoArgs) -> Result<Exit> {
    let dir = demo_dir(a)?;
    let root = dir.join("root");
    let host = crate::sample::build_compromised_host(&root)?;
    let (key, recipient) = throwaway_key(&dir)?;
    let case = demo_case(ctx, &dir)?;
    let demo = Ctx::new(
        Global {
            home: Some(host.state.clone()),
            root: root.clone(),
            case: case.clone(),
            yes: true,
            quiet: ctx.global.quiet,
            ..Global::default()
        },
        &["ir".into(), "demo".into()],
    );
    eprintln!(
        "ir demo: a compromised OpenClaw host under {}\nir demo: running the respond playbook (every step journaled)\n",
        root.display()
    );
    let steps = respond(&demo, recipient)?;
    let journal = case.join(crate::journal::JOURNAL_FILE);
    let verdict = crate::journal::verify(&journal)?;
    let bundle = crate::cmd::verify::latest_bundle(&journal).ok();
    let places = Places {
        root: &root,
        home: host.home,
        case: &case,
        bundle: bundle.as_deref(),
        key: &key,
    };
    let report = crate::report::build(&case).ok();
    if ctx.global.json {
        crate::output::print_json(&DemoOut {
            dir: &dir,
            root: &root,
            case: &case,
            bundle: bundle.as_deref(),
            key: &key,
            report_html: case.join("report.html"),
            report_md: case.join("report.md"),
            report_json: case.join("report.json"),
            summary: report
                .as_ref()
                .map(|r| r.summary.as_slice())
                .unwrap_or_default(),
            steps: &steps,
        });
    } else {
        crate::output::print(&summary(&places, &verdict, &steps));
        if let Some(r) = &report {
            crate::output::print(&story(r, &case));
        }
    }
    if a.open {
        open_with_desktop(&case.join("report.html"));
    }
    Ok(exit_for(&steps))
}

/// What `ir --json demo` prints: where everything is, the executive
/// summary and how each step ended.
#[derive(serde::Serialize)]
struct DemoOut<'a> {
    dir: &'a Path,
    root: &'a Path,
    case: &'a Path,
    bundle: Option<&'a Path>,
    key: &'a Path,
    report_html: PathBuf,
    report_md: PathBuf,
    report_json: PathBuf,
    summary: &'a [crate::report::model::SummaryLine],
    steps: &'a [StepEnd],
}

/// The demo's last words: the executive summary, then where the report is.
fn story(r: &crate::report::Report, case: &Path) -> String {
    use std::fmt::Write;
    let mut s = String::from("\nWhat happened\n");
    for l in &r.summary {
        let _ = writeln!(
            s,
            "  {:<22} {}",
            format!("{}:", l.topic.label()),
            crate::sanitize::display_safe(&l.text)
        );
    }
    let _ = writeln!(
        s,
        "\nThe whole story: {}\n  (and report.md, report.json beside it)",
        case.join("report.html").display()
    );
    s
}

/// Desktop openers, by absolute path: never looked up through `PATH`.
const OPENERS: &[&str] = &[
    "/usr/bin/xdg-open",
    "/usr/local/bin/xdg-open",
    "/usr/bin/open",
];

/// Opens `page` with the first opener present, when a desktop is there to
/// show it (a display on Linux; macOS always has one). Without either,
/// nothing happens and nothing is said: the path was printed already.
fn open_with_desktop(page: &Path) {
    let desktop = cfg!(target_os = "macos")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let Some(opener) = OPENERS.iter().map(Path::new).find(|p| p.is_file()) else {
        return;
    };
    if !desktop {
        return;
    }
    // Detached: the browser outlives the demo, and its chatter is not ours.
    let _ = std::process::Command::new(opener)
        .arg(page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// The demo's directory, absolute: `--dir` (created if need be) or a new
/// temporary one, kept so the analyst can look through it afterwards.
fn demo_dir(a: &DemoArgs) -> Result<PathBuf> {
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => tempfile::Builder::new()
            .prefix("ir-demo-")
            .tempdir()?
            .keep(),
    };
    Ok(std::fs::canonicalize(&dir)?)
}

/// The demo's case dir: `--case` (or `IR_CASE`) when given, made
/// absolute, else `case` in the demo's dir. A case that already holds a
/// journal is refused: the demo must not write into a real case.
fn demo_case(ctx: &Ctx, dir: &Path) -> Result<PathBuf> {
    if !ctx.global.case_given {
        return Ok(dir.join("case"));
    }
    let case = std::path::absolute(&ctx.global.case)
        .with_context(|| format!("resolving {}", ctx.global.case.display()))?;
    if case.join(crate::journal::JOURNAL_FILE).exists() {
        return Err(crate::exit::hint(
            format!("{} already holds a case journal", case.display()),
            "give the demo a new --case DIR (or none: it makes one beside the sample host)",
        ));
    }
    Ok(case)
}

/// A throwaway key, the analyst's side of the demo: written (600) to
/// `demo-key.txt` in `dir`. Returns its path and its recipient.
fn throwaway_key(dir: &Path) -> Result<(PathBuf, String)> {
    let id = age::x25519::Identity::generate();
    let key = dir.join("demo-key.txt");
    crate::safefs::write_atomic(
        &key,
        format!("{}\n", id.to_string().expose_secret()).as_bytes(),
        0o600,
    )?;
    Ok((key, id.to_public().to_string()))
}

/// Runs the shipped `respond` playbook unattended, encrypting to
/// `recipient`, and returns how each step ended.
fn respond(demo: &Ctx, recipient: String) -> Result<Vec<StepEnd>> {
    let (pb, text, origin) = crate::playbook::load("respond")?;
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("recipient".to_string(), recipient);
    vars.insert("since".to_string(), "30d".to_string());
    let o = crate::playbook::run::Options {
        yes: true,
        vars,
        ..Default::default()
    };
    let (steps, _) = crate::playbook::run::execute(demo, &pb, &text, &origin, &o)?;
    Ok(steps)
}

/// Where the demo left what the analyst will want to open.
struct Places<'a> {
    root: &'a Path,
    /// The user's home as the sample host sees it.
    home: &'a str,
    case: &'a Path,
    bundle: Option<&'a Path>,
    key: &'a Path,
}

/// The closing summary: where everything is and how the run went.
fn summary(p: &Places, verdict: &crate::journal::Report, steps: &[StepEnd]) -> String {
    let mut s = String::new();
    use std::fmt::Write;
    let _ = writeln!(s, "\nsample host  {}  (home {})", p.root.display(), p.home);
    let _ = writeln!(s, "case dir     {}", p.case.display());
    if let Some(b) = p.bundle {
        let _ = writeln!(s, "bundle       {}", b.display());
    }
    let _ = writeln!(
        s,
        "key          {}  (throwaway: ir extract BUNDLE -i KEY -o DIR)",
        p.key.display()
    );
    let _ = writeln!(s, "report       {}", p.case.join("report.html").display());
    let _ = writeln!(
        s,
        "journal      {:?}, {} entries (ir --case {} journal show)",
        verdict.verdict,
        verdict.entries,
        p.case.display()
    );
    let _ = writeln!(
        s,
        "steps        {}",
        steps
            .iter()
            .map(|st| format!("{} {}", st.id, st.status))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

/// An error exit when any step failed, was refused or was interrupted: the
/// demo is meant to run through.
fn exit_for(steps: &[StepEnd]) -> Exit {
    let broken = steps.iter().any(|st| {
        matches!(
            st.status,
            StepStatus::Failed | StepStatus::Refused | StepStatus::Interrupted
        )
    });
    if broken { Exit::Error } else { Exit::Ok }
}
