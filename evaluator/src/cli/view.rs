//! `cir-eval view`: the browser viewer on localhost with a trajectory file preloaded.

use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `cir-eval view`.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Trajectory JSONL file written by `cir-eval run` (or `score`).
    pub trajectories: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 8040)]
    pub port: u16,
}

/// Serves the viewer until the process ends; prints its URL.
pub fn run(args: &ViewArgs) -> anyhow::Result<()> {
    use cir_eval::view::{Site, assets};
    anyhow::ensure!(
        !assets().is_empty(),
        "this cir-eval was built without the viewer: run web/test.sh (or `npm ci && npm run build` in web/app), then \
         rebuild cir-eval"
    );
    let data = std::fs::read(&args.trajectories).with_context(|| format!("reading {}", args.trajectories.display()))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("binding 127.0.0.1:{} (pass --port 0 for a free port)", args.port))?;
    let port = listener.local_addr()?.port();
    println!("{}", Site::url(port));
    eprintln!("serving {} on 127.0.0.1:{port}; Ctrl-C to stop", args.trajectories.display());
    Site::new(assets(), data).serve(listener)?;
    Ok(())
}
