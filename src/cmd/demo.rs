//! `ir demo`: a whole incident, in seconds, on a sample host. The real host
//! is never touched: everything happens under a temporary `--root`.

use crate::case::{Ctx, Global};
use crate::exit::Exit;
use age::secrecy::ExposeSecret;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Arguments of `ir demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to build the sample host and case (default: a new temp dir, kept).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Builds the compromised host, then runs the `respond` playbook on it.
pub fn run(ctx: &Ctx, a: &DemoArgs) -> Result<Exit> {
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
    let dir = std::fs::canonicalize(&dir)?;
    let root = dir.join("root");
    let host = crate::sample::build_compromised_host(&root)?;
    // A throwaway key: the analyst's side of the demo.
    let id = age::x25519::Identity::generate();
    let key = dir.join("demo-key.txt");
    crate::safefs::write_atomic(
        &key,
        format!("{}\n", id.to_string().expose_secret()).as_bytes(),
        0o600,
    )?;
    let recipient = id.to_public().to_string();
    let case = dir.join("case");
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
    let (pb, text, origin) = crate::playbook::load("respond")?;
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("recipient".to_string(), recipient);
    vars.insert("since".to_string(), "30d".to_string());
    let o = crate::playbook::run::Options {
        yes: true,
        vars,
        ..Default::default()
    };
    let (steps, _) = crate::playbook::run::execute(&demo, &pb, &text, &origin, &o)?;
    let verdict = crate::journal::verify(&case.join(crate::journal::JOURNAL_FILE))?;
    let bundle = crate::cmd::verify::latest_bundle(&case.join(crate::journal::JOURNAL_FILE)).ok();
    let mut s = String::new();
    use std::fmt::Write;
    let _ = writeln!(s, "\nsample host  {}  (home {})", root.display(), host.home);
    let _ = writeln!(s, "case dir     {}", case.display());
    if let Some(b) = &bundle {
        let _ = writeln!(s, "bundle       {}", b.display());
    }
    let _ = writeln!(
        s,
        "key          {}  (throwaway: ir extract BUNDLE -i KEY -o DIR)",
        key.display()
    );
    let _ = writeln!(s, "report       {}", case.join("report.md").display());
    let _ = writeln!(
        s,
        "journal      {:?}, {} entries (ir --case {} journal show)",
        verdict.verdict,
        verdict.entries,
        case.display()
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
    crate::output::print(&s);
    Ok(
        if steps.iter().any(|st| {
            use crate::record::StepStatus as S;
            matches!(st.status, S::Failed | S::Refused | S::Interrupted)
        }) {
            Exit::Error
        } else {
            Exit::Ok
        },
    )
}
