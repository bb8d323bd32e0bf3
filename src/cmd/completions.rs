//! `ir completions SHELL` and `ir man`.

use crate::exit::Exit;
use anyhow::Result;

/// Arguments of `ir completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints completions for a shell.
pub fn run(a: &CompletionsArgs) -> Result<Exit> {
    let mut cmd = crate::cli::command();
    clap_complete::generate(a.shell, &mut cmd, "ir", &mut std::io::stdout());
    Ok(Exit::Ok)
}

/// Prints the man page.
pub fn man() -> Result<Exit> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(crate::cli::command()).render(&mut buf)?;
    crate::output::print(&String::from_utf8_lossy(&buf));
    Ok(Exit::Ok)
}
