//! `ir completions SHELL` and `ir man [SUBCOMMAND] [--dir DIR]`.

use crate::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `ir completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `ir man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`collect`, `journal verify`);
    /// default: ir(1).
    #[arg(value_name = "SUBCOMMAND", num_args = 0..)]
    pub subcommand: Vec<String>,
    /// Write every page (ir.1, ir-collect.1...) into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub dir: Option<PathBuf>,
}

/// Neither a shell script nor roff is JSON: refused under `--json` rather
/// than breaking the one-document promise.
fn refuse_json(what: &str) -> anyhow::Error {
    crate::exit::hint(
        format!("{what} is not JSON; --json cannot apply"),
        "drop --json",
    )
}

/// Prints completions for a shell.
pub fn run(a: &CompletionsArgs, json: bool) -> Result<Exit> {
    if json {
        return Err(refuse_json("a completion script"));
    }
    let mut cmd = crate::cli::command();
    clap_complete::generate(a.shell, &mut cmd, "ir", &mut std::io::stdout());
    Ok(Exit::Ok)
}

/// Prints a man page, or writes them all.
pub fn man(a: &ManArgs, json: bool) -> Result<Exit> {
    if let Some(dir) = &a.dir {
        let written = crate::help::write_all(dir)?;
        if json {
            crate::output::print_json(&serde_json::json!({"written": written}));
        } else {
            eprintln!(
                "ir: {} man pages written to {}",
                written.len(),
                dir.display()
            );
        }
        return Ok(Exit::Ok);
    }
    if json {
        return Err(refuse_json("a man page"));
    }
    let path = a.subcommand.join(" ");
    let page = crate::help::page((!path.is_empty()).then_some(path.as_str())).ok_or_else(|| {
        crate::exit::hint(
            format!("no subcommand {path:?}"),
            "give a subcommand as `ir --help` lists it (e.g. collect, journal verify)",
        )
    })?;
    crate::output::print(&String::from_utf8_lossy(&page));
    Ok(Exit::Ok)
}
