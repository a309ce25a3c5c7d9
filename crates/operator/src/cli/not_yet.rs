//! Placeholder for the subcommands that arrive with the controllers.

use std::process::ExitCode;

/// Any arguments, accepted so that every invocation gets the same clear
/// message instead of a usage error.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        hide = true,
        num_args = 0..
    )]
    _args: Vec<String>,
}

/// Exit code for "not implemented yet", distinct from 1 (a failed run).
const NOT_IMPLEMENTED: u8 = 2;

pub fn run() -> ExitCode {
    eprintln!("not implemented yet: coming with the Plug/Socket controllers (issue #4)");
    ExitCode::from(NOT_IMPLEMENTED)
}
