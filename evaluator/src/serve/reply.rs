//! HTTP plumbing shared by the handlers: the [`Reply`] a handler returns, reading a bounded body, and the bearer
//! token check.

use std::io::Read;

use serde::Serialize;
use serde_json::json;
use tiny_http::{Header, Request, Response};

/// A response before it is written.
pub(crate) struct Reply {
    pub code: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(code: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"serializing: {e}\"}}"));
        Reply { code, content_type: "application/json", body, headers: Vec::new() }
    }

    pub fn error(code: u16, message: impl std::fmt::Display) -> Reply {
        Reply::json(code, &json!({ "error": message.to_string() }))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        let mut response = Response::from_string(self.body).with_status_code(self.code);
        let headers = std::iter::once(("Content-Type", self.content_type.to_owned())).chain(self.headers);
        for (name, value) in headers {
            if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(h);
            }
        }
        response
    }
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `request` carries `Authorization: Bearer TOKEN` (always true without a token).
pub(crate) fn authorized(token: Option<&str>, request: &Request) -> bool {
    let Some(token) = token else { return true };
    request.headers().iter().any(|h| {
        h.field.equiv("Authorization")
            && h.value
                .as_str()
                .strip_prefix("Bearer ")
                .is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes()))
    })
}

/// The body, or 413/400 when it is too large or cannot be read.
pub(crate) fn read_body(request: &mut Request, max: usize) -> Result<Vec<u8>, (u16, String)> {
    let too_large = || (413, format!("the request body is over the {max}-byte limit (--max-body)"));
    if request.body_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| (400, format!("reading the request body: {e}")))?;
    if body.len() > max {
        return Err(too_large());
    }
    Ok(body)
}
