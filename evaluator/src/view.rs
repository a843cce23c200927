//! `cir-eval view TRAJ.jsonl [--port P]`: serves the browser viewer (embedded in the binary at build time, see
//! `build.rs`) on 127.0.0.1 with the trajectory file preloaded at `/trajectories.jsonl`.
//!
//! The server is a minimal HTTP/1.1 responder on a std [`TcpListener`]: `GET`/`HEAD` only, one response per
//! connection (`Connection: close`), one thread per connection. It serves local files to a local browser; it is not
//! meant to face a network, which is why it binds the loopback address only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

include!(concat!(env!("OUT_DIR"), "/viewer_assets.rs"));

/// The path the page loads the trajectory file from (`?src=` of the printed URL).
pub const TRAJECTORIES_PATH: &str = "trajectories.jsonl";

/// How long a connection may take to send its request line and headers; default 10 s, so a stalled client cannot
/// hold a thread for ever.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `cir-eval view`.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Trajectory JSONL file written by `cir-eval run` (or `score`).
    pub trajectories: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 8040)]
    pub port: u16,
}

/// The viewer's embedded files: (path below `dist/`, contents). Empty when the binary was built before the viewer
/// (`web/test.sh`, or `npm ci && npm run build` in `web/app`, then rebuild `cir-eval`).
pub fn assets() -> &'static [(&'static str, &'static [u8])] {
    ASSETS
}

/// The files one server answers with: the viewer's assets and the trajectory file.
#[derive(Debug)]
pub struct Site {
    assets: &'static [(&'static str, &'static [u8])],
    trajectories: Vec<u8>,
}

impl Site {
    /// A site serving `assets` at their paths (`index.html` also at `/`) and `trajectories` at
    /// [`TRAJECTORIES_PATH`].
    pub fn new(assets: &'static [(&'static str, &'static [u8])], trajectories: Vec<u8>) -> Site {
        Site { assets, trajectories }
    }

    /// The URL that opens the viewer on the preloaded file, for a server listening on `port`.
    pub fn url(port: u16) -> String {
        format!("http://127.0.0.1:{port}/?src={TRAJECTORIES_PATH}")
    }

    /// The content and type for a request path, or `None` (404).
    fn lookup(&self, path: &str) -> Option<(&[u8], &'static str)> {
        let path = path.split(['?', '#']).next().unwrap_or_default().trim_start_matches('/');
        let path = if path.is_empty() { "index.html" } else { path };
        if path == TRAJECTORIES_PATH {
            return Some((&self.trajectories, "application/x-ndjson; charset=utf-8"));
        }
        let (_, body) = self.assets.iter().find(|(name, _)| *name == path)?;
        Some((body, content_type(path)))
    }

    /// Answers connections on `listener` until it fails; each connection gets its own thread.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let site = Arc::new(self);
        for stream in listener.incoming() {
            let stream = stream?;
            let site = Arc::clone(&site);
            std::thread::spawn(move || {
                // A client that goes away mid-response is its own business: nothing to report.
                let _ = site.respond(stream);
            });
        }
        Ok(())
    }

    fn respond(&self, mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request = String::new();
        reader.read_line(&mut request)?;
        // Drain the headers; the server needs none of them.
        let mut header = String::new();
        while reader.read_line(&mut header)? > 2 {
            header.clear();
        }
        let mut parts = request.split_whitespace();
        let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let (status, body, kind): (&str, &[u8], &str) = match (method, self.lookup(path)) {
            ("GET" | "HEAD", Some((body, kind))) => ("200 OK", body, kind),
            ("GET" | "HEAD", None) => ("404 Not Found", b"not found\n", "text/plain; charset=utf-8"),
            _ => ("405 Method Not Allowed", b"only GET and HEAD\n", "text/plain; charset=utf-8"),
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
             Connection: close\r\n\r\n",
            body.len()
        )?;
        if method != "HEAD" {
            stream.write_all(body)?;
        }
        stream.flush()
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    static FAKE: &[(&str, &[u8])] = &[("index.html", b"<p>viewer</p>"), ("assets/a.wasm", b"\0asm")];

    fn get(port: u16, request: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_assets_the_file_and_404() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || Site::new(FAKE, b"{\"schema\":1}\n".to_vec()).serve(listener));
        let index = get(port, "GET /?src=x HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(index.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html"), "{index}");
        assert!(index.ends_with("\r\n\r\n<p>viewer</p>"), "{index}");
        let wasm = get(port, "GET /assets/a.wasm HTTP/1.1\r\n\r\n");
        assert!(wasm.contains("application/wasm") && wasm.contains("Content-Length: 4\r\n"), "{wasm}");
        let data = get(port, "GET /trajectories.jsonl HTTP/1.1\r\n\r\n");
        assert!(data.ends_with("\r\n\r\n{\"schema\":1}\n"), "{data}");
        assert!(get(port, "GET /../etc/passwd HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(port, "POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let head = get(port, "HEAD / HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 13\r\n"), "{head}");
        assert_eq!(Site::url(8040), "http://127.0.0.1:8040/?src=trajectories.jsonl");
    }
}
