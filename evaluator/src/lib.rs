//! `cir-eval`: the library behind the `cir-eval` command. Each subcommand is a module with a `run` function.
#![deny(missing_docs)]

pub mod exec;
pub mod setup;
