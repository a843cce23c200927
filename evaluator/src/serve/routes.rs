//! The endpoints: which path is which [`Route`], the one method each takes, its label in the metrics, and whether
//! it needs the bearer token.

use tiny_http::Method;

/// One endpoint of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /healthz`.
    Healthz,
    /// `GET /metrics`.
    Metrics,
    /// `POST /run_code` (SandboxFusion).
    RunCode,
    /// `POST /v1/exec`.
    Exec,
    /// `POST /v1/verify`.
    Verify,
    /// `DELETE /v1/sessions/ID`.
    CloseSession(String),
}

impl Route {
    /// The route of a request path (its query string already cut off); `None` for no endpoint.
    pub fn parse(path: &str) -> Option<Route> {
        Some(match path {
            "/healthz" => Route::Healthz,
            "/metrics" => Route::Metrics,
            "/run_code" => Route::RunCode,
            "/v1/exec" => Route::Exec,
            "/v1/verify" => Route::Verify,
            _ => Route::CloseSession(path.strip_prefix("/v1/sessions/").filter(|id| !id.is_empty())?.to_owned()),
        })
    }

    /// The one method the endpoint takes (405 with `Allow` for any other).
    pub fn method(&self) -> Method {
        match self {
            Route::Healthz | Route::Metrics => Method::Get,
            Route::RunCode | Route::Exec | Route::Verify => Method::Post,
            Route::CloseSession(_) => Method::Delete,
        }
    }

    /// The `route` label of `cir_http_requests_total` (a session's id is not part of it).
    pub fn label(&self) -> &'static str {
        match self {
            Route::Healthz => "/healthz",
            Route::Metrics => "/metrics",
            Route::RunCode => "/run_code",
            Route::Exec => "/v1/exec",
            Route::Verify => "/v1/verify",
            Route::CloseSession(_) => "/v1/sessions",
        }
    }

    /// Whether the bearer token is required: everywhere but the load balancers' health probe.
    pub fn needs_token(&self) -> bool {
        *self != Route::Healthz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_with_one_method_each() {
        for (path, route, method) in [
            ("/healthz", Some(Route::Healthz), Method::Get),
            ("/metrics", Some(Route::Metrics), Method::Get),
            ("/run_code", Some(Route::RunCode), Method::Post),
            ("/v1/exec", Some(Route::Exec), Method::Post),
            ("/v1/verify", Some(Route::Verify), Method::Post),
            ("/v1/sessions/ab12", Some(Route::CloseSession("ab12".into())), Method::Delete),
            ("/v1/sessions/", None, Method::Get),
            ("/v1/exec/", None, Method::Get),
            ("/", None, Method::Get),
        ] {
            assert_eq!(Route::parse(path), route, "{path}");
            if let Some(route) = route {
                assert_eq!(route.method(), method, "{path}");
            }
        }
        assert!(!Route::Healthz.needs_token() && Route::Metrics.needs_token());
        assert_eq!(Route::CloseSession("x".into()).label(), "/v1/sessions");
    }
}
