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

/// The sandbox `run` and `replay` execute code in: the per-block timeout, echoing the last expression or not, and an
/// optional local interpreter wheel; `report` shows the first-use setup.
pub fn sandbox(
    exec_timeout: f64,
    echo: bool,
    wheel: Option<std::path::PathBuf>,
    report: &dyn Fn(&str),
) -> anyhow::Result<cir_runtime::Sandbox> {
    use anyhow::Context;
    let limits = cir_runtime::Limits {
        timeout: std::time::Duration::from_secs_f64(exec_timeout),
        ..cir_runtime::Limits::default()
    };
    cir_runtime::Sandbox::builder()
        .limits(limits)
        .echo_last_expression(echo)
        .interpreter(cir_python_wasm::Options { wheel, ..Default::default() })
        .build_with_progress(report)
        .context("loading the sandbox")
}
