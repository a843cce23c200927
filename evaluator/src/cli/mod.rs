//! The flags of every `cir-eval` subcommand (clap lives here, not in the library): each resolves its flags into a
//! checked configuration and calls the library; `exec` and `setup` are terminal glue with no library of their own.

pub mod exec;
pub mod grade;
pub mod replay;
pub mod report;
pub mod run;
pub mod score;
pub mod serve;
pub mod setup;
pub mod view;
