//! `fprinciple`: run the Frequency Principle experiments. See `fprinciple --help`.

use clap::Parser;
use host::cli::{main_with, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    match main_with(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
