//! The flags of the `cir-eval` subcommands that own no library module of their own; each resolves its flags into a
//! library call.

pub mod replay;
pub mod run;
