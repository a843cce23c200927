//! `cir-eval view TRAJ.jsonl [--port P]`: serves the browser viewer (embedded in the binary at build time, see
//! `build.rs`) on 127.0.0.1 with the trajectory file preloaded at `/trajectories.jsonl`.
//!
//! The server is tiny_http (as `cir-eval serve`): `GET`/`HEAD` only, answered from memory by a few threads. It
//! serves local files to a local browser; it is not meant to face a network, which is why it binds the loopback
//! address only.

use std::net::TcpListener;

use tiny_http::{Header, Method, Request, Response, StatusCode};

include!(concat!(env!("OUT_DIR"), "/viewer_assets.rs"));

/// The path the page loads the trajectory file from (`?src=` of the printed URL).
pub const TRAJECTORIES_PATH: &str = "trajectories.jsonl";

/// Threads answering requests: enough for a browser's parallel asset requests (tiny_http reads each connection
/// on its own thread, so a stalled client holds none of these).
const THREADS: usize = 4;

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

    /// Answers requests on `listener` until the server fails.
    ///
    /// # Errors
    ///
    /// The listener cannot be served.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let server = tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    while let Ok(request) = server.recv() {
                        // A client that goes away mid-response is its own business: nothing to report.
                        let _ = self.respond(request);
                    }
                });
            }
        });
        Ok(())
    }

    fn respond(&self, request: Request) -> std::io::Result<()> {
        let text = "text/plain; charset=utf-8";
        let (status, body, kind): (u16, &[u8], &str) = match (request.method(), self.lookup(request.url())) {
            (Method::Get | Method::Head, Some((body, kind))) => (200, body, kind),
            (Method::Get | Method::Head, None) => (404, b"not found\n", text),
            _ => (405, b"only GET and HEAD\n", text),
        };
        let mut headers = vec![("Content-Type", kind), ("Cache-Control", "no-store")];
        if status == 405 {
            headers.push(("Allow", "GET, HEAD"));
        }
        let headers = headers.into_iter().filter_map(|(k, v)| Header::from_bytes(k, v).ok()).collect();
        // Always a Content-Length (no chunked encoding), also for HEAD, which tiny_http answers without the body.
        let response =
            Response::new(StatusCode(status), headers, body, Some(body.len()), None).with_chunked_threshold(usize::MAX);
        request.respond(response)
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
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    static FAKE: &[(&str, &[u8])] = &[("index.html", b"<p>viewer</p>"), ("assets/a.wasm", b"\0asm")];

    /// Sends `request_line` with `Connection: close` (so the server ends the connection after its answer) and
    /// returns the whole answer.
    fn get(port: u16, request_line: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_assets_the_file_and_404() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || Site::new(FAKE, b"{\"schema\":1}\n".to_vec()).serve(listener));
        let index = get(port, "GET /?src=x HTTP/1.1");
        assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
        assert!(index.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"), "{index}");
        assert!(index.contains("\r\nCache-Control: no-store\r\n"), "{index}");
        assert!(index.ends_with("\r\n\r\n<p>viewer</p>"), "{index}");
        let wasm = get(port, "GET /assets/a.wasm HTTP/1.1");
        assert!(wasm.contains("application/wasm") && wasm.contains("Content-Length: 4\r\n"), "{wasm}");
        let data = get(port, "GET /trajectories.jsonl HTTP/1.1");
        assert!(data.ends_with("\r\n\r\n{\"schema\":1}\n"), "{data}");
        assert!(get(port, "GET /../etc/passwd HTTP/1.1").starts_with("HTTP/1.1 404"));
        let post = get(port, "POST / HTTP/1.1");
        assert!(post.starts_with("HTTP/1.1 405") && post.contains("\r\nAllow: GET, HEAD\r\n"), "{post}");
        let head = get(port, "HEAD / HTTP/1.1");
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 13\r\n"), "{head}");
        assert_eq!(Site::url(8040), "http://127.0.0.1:8040/?src=trajectories.jsonl");
    }
}
