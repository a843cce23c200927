//! `cir-eval serve` over real HTTP: the built binary on an ephemeral loopback port, called with ureq.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http::agent;
use serde_json::{Value, json};

#[path = "support/http.rs"]
mod http;

/// A running `cir-eval serve`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    agent: ureq::Agent,
    stderr: mpsc::Receiver<String>,
    /// The thread copying the server's stderr into `stderr`; it ends at the end of the stream.
    reader: Option<JoinHandle<()>>,
}

/// One answer: status code, WWW-Authenticate header, body.
struct Answer {
    code: u16,
    www_authenticate: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Serve {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cir-eval"))
            .args(["serve", "--port", "0"])
            .args(args)
            .env_remove("CIR_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning cir-eval serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(600);
        let base = loop {
            let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("server start");
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        Serve { child, base, agent: agent(), stderr: rx, reader: Some(reader) }
    }

    /// Waits for the server to exit and returns its status and every stderr line it wrote after the start: the
    /// reader thread is joined first (it ends at the end of the stream), so no line is still on its way.
    fn exit(&mut self) -> (ExitStatus, Vec<String>) {
        let status = self.child.wait().expect("server exit");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the stderr reader");
        }
        (status, self.stderr.try_iter().collect())
    }

    fn send(&self, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> Answer {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (_, body) => {
                let mut r = self.agent.post(&url).header("Content-Type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(body.unwrap_or_default().as_bytes())
            }
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let www_authenticate = header("www-authenticate");
        let body = response.body_mut().with_config().limit(64 << 20).read_to_string().expect("reading the body");
        Answer { code: response.status().as_u16(), www_authenticate, body }
    }

    fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(&body.to_string()), None)
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, None)
    }

    /// The value of one Prometheus series line (`name{labels}` exactly as rendered).
    fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").body;
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_code(s: &Serve, body: Value) -> (u16, Value) {
    let a = s.post("/run_code", &body);
    (a.code, a.json())
}

#[test]
fn run_code_speaks_sandbox_fusion() {
    let s = Serve::start(&["--limit-sets", "8"], &[]);
    let (code, ok) = run_code(&s, json!({"code": "print(6*7)\n1+1", "language": "python", "run_timeout": 10}));
    assert_eq!(code, 200);
    assert_eq!(ok["status"], "Success", "{ok}");
    assert_eq!(ok["message"], "");
    assert_eq!(ok["compile_result"], Value::Null);
    assert_eq!(ok["run_result"]["status"], "Finished");
    assert_eq!(ok["run_result"]["return_code"], 0);
    // A script, as SandboxFusion runs it: the final bare expression is not echoed.
    assert_eq!(ok["run_result"]["stdout"], "42\n");
    assert_eq!(ok["run_result"]["stderr"], "");
    assert!(ok["run_result"]["execution_time"].as_f64().is_some_and(|t| t > 0.0 && t < 10.0), "{ok}");
    assert_eq!(ok["files"], json!({}));

    let (code, err) = run_code(&s, json!({"code": "print('before')\n1/0", "language": "python", "run_timeout": 10}));
    assert_eq!(code, 200);
    assert_eq!(err["status"], "Failed");
    assert_eq!(err["run_result"]["status"], "Finished");
    assert_eq!(err["run_result"]["return_code"], 1);
    assert_eq!(err["run_result"]["stdout"], "before\n");
    assert!(err["run_result"]["stderr"].as_str().unwrap_or_default().contains("ZeroDivisionError"), "{err}");

    let (_, exit) = run_code(&s, json!({"code": "import sys; sys.exit(3)", "language": "python", "run_timeout": 10}));
    assert_eq!((exit["status"].as_str(), exit["run_result"]["return_code"].as_i64()), (Some("Failed"), Some(3)));

    let started = Instant::now();
    let (code, slow) = run_code(&s, json!({"code": "while True: pass", "language": "python", "run_timeout": 1}));
    assert_eq!(code, 200);
    assert_eq!(slow["status"], "Failed");
    assert_eq!(slow["run_result"]["status"], "TimeLimitExceeded");
    assert_eq!(slow["run_result"]["return_code"], Value::Null);
    assert!(started.elapsed() < Duration::from_secs(30));

    let (_, echo) = run_code(
        &s,
        json!({"code": "a = input()\nb = input()\nprint(int(a) + int(b))", "language": "python", "stdin": "2\n40\n",
               "run_timeout": 10}),
    );
    assert_eq!(echo["run_result"]["stdout"], "42\n", "{echo}");
    let (_, traceback) =
        run_code(&s, json!({"code": "x = input()\nraise ValueError(x)", "language": "python", "stdin": "boom\n"}));
    let stderr = traceback["run_result"]["stderr"].as_str().unwrap_or_default();
    assert!(stderr.contains("line 2") && stderr.contains("ValueError: boom"), "{traceback}");

    // verl's payload: memory_limit_MB, compile_timeout, empty files and fetch_files.
    let (_, mem) = run_code(
        &s,
        json!({"code": "x = bytearray(600 * 2**20)\nprint('allocated')", "language": "python", "run_timeout": 10,
               "compile_timeout": 10, "memory_limit_MB": 400, "files": {}, "fetch_files": []}),
    );
    assert_eq!(mem["status"], "Failed", "{mem}");
    assert_eq!(mem["run_result"]["return_code"], 1);
    assert!(mem["run_result"]["stderr"].as_str().unwrap_or_default().contains("MemoryError"), "{mem}");

    let (_, empty) = run_code(&s, json!({"code": "  ", "language": "python"}));
    assert_eq!((empty["status"].as_str(), empty["run_result"]["stdout"].as_str()), (Some("Success"), Some("")));

    // SandboxFusion's files: placed (base64) in the folder the code starts in, fetch_files returned base64.
    let (code, files) = run_code(
        &s,
        json!({"code": "import os\nprint(os.getcwd(), sorted(os.listdir()))\nopen('out.txt', 'w').write(open('a/in.txt').read() * 2)",
               "language": "python", "files": {"a/in.txt": "aGk=", "IGNORE_THIS_FILE.txt": "eA==", "none.txt": null},
               "fetch_files": ["out.txt", "a/in.txt", "absent.txt"]}),
    );
    assert_eq!(code, 200, "{files}");
    assert_eq!(files["run_result"]["stdout"], "/tmp ['a']\n", "{files}");
    assert_eq!(files["files"], json!({"out.txt": "aGloaQ==", "a/in.txt": "aGk="}), "{files}");
    // An empty script still gets its files placed and fetched.
    let (_, kept) =
        run_code(&s, json!({"code": "", "language": "python", "files": {"x": "eA=="}, "fetch_files": ["x"]}));
    assert_eq!(kept["files"], json!({"x": "eA=="}), "{kept}");

    for (body, needle) in [
        (json!({"code": "print(1)", "language": "cpp"}), "language \"cpp\" is not supported"),
        (json!({"code": "print(1)", "language": "python", "gpu": true}), "unsupported field(s) gpu"),
        (json!({"code": "print(1)", "language": "python", "files": {"/etc/a.txt": "aGk="}}), "not a path in /tmp"),
        (
            json!({"code": "print(1)", "language": "python", "files": {"a.txt": "a!b"}}),
            "files[\"a.txt\"] is not base64",
        ),
        (json!({"language": "python"}), "missing field `code`"),
        (json!({"code": "print(1)", "language": "python", "run_timeout": -1}), "run_timeout must be a positive"),
    ] {
        let (code, refused) = run_code(&s, body.clone());
        assert_eq!(code, 400, "{body}");
        assert_eq!(refused["status"], "SandboxError", "{refused}");
        let message = refused["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
        assert_eq!(refused["run_result"], Value::Null);
    }
    let malformed = s.send("POST", "/run_code", Some("{\"code\": \"print(1)\", "), None);
    assert_eq!(malformed.code, 400);
    assert_eq!(malformed.json()["status"], "SandboxError");
    assert!(malformed.json()["message"].as_str().unwrap_or_default().contains("not valid JSON"));
}

#[test]
fn exec_returns_the_record_and_feedback_under_every_limit() {
    let s = Serve::start(&["--limit-sets", "8", "--max-timeout", "10"], &[]);
    let ok = s.post("/v1/exec", &json!({"code": "x = 2\nx * 21"}));
    assert_eq!(ok.code, 200, "{}", ok.body);
    let ok = ok.json();
    assert_eq!(ok["execution"]["status"], "ok");
    assert_eq!(ok["execution"]["stdout"], "42\n");
    assert_eq!(ok["feedback"], "\n```output\n42\n```\n");
    assert!(ok.get("session").is_none());

    let draw =
        |seed: u64| s.post("/v1/exec", &json!({"code": "import random; print(random.random())", "seed": seed})).json();
    assert_eq!(draw(1)["execution"]["stdout"], draw(1)["execution"]["stdout"]);
    assert_ne!(draw(1)["execution"]["stdout"], draw(2)["execution"]["stdout"]);

    let err = s.post("/v1/exec", &json!({"code": "print(y)"})).json();
    assert_eq!(err["execution"]["status"], "error");
    assert_eq!(err["feedback"], "\n```output\nNameError: name 'y' is not defined\n```\n");

    let slow = s.post("/v1/exec", &json!({"code": "while True: pass", "limits": {"timeout_s": 0.5}})).json();
    assert_eq!(slow["execution"]["status"], "timeout", "{slow}");
    assert_eq!(slow["feedback"], "\n```output\nTimeout Error\n```\n");

    let big = s.post("/v1/exec", &json!({"code": "x = bytearray(600 * 2**20)", "limits": {"memory_mib": 400}})).json();
    assert_eq!(big["execution"]["status"], "memory_limit", "{big}");

    let loud = s.post("/v1/exec", &json!({"code": "print('x' * 5000)", "limits": {"output_bytes": 1000}})).json();
    assert_eq!(loud["execution"]["status"], "output_limit", "{loud}");
    assert_eq!(loud["execution"]["truncated"], true);
    assert!(loud["execution"]["stdout"].as_str().unwrap_or_default().len() <= 1000);

    let quiet = s.post("/v1/exec", &json!({"code": "x = 5\nx", "echo": false})).json();
    assert_eq!(quiet["execution"]["stdout"], "");

    for (body, code, needle) in [
        (json!({"code": "  "}), 400, "empty"),
        (json!({"code": "print(1)", "timeout": 3}), 400, "unknown field `timeout`"),
        (json!({"code": "print(1)", "limits": {"cpu": 1}}), 400, "unknown field `cpu`"),
        (json!({"code": "print(1)", "limits": {"timeout_s": 11}}), 400, "--max-timeout"),
        (json!({"code": "print(1)", "limits": {"memory_mib": 5000}}), 400, "--max-memory"),
        (json!({"code": "print(1)", "limits": {"output_bytes": 100_000_000}}), 400, "limits.output_bytes"),
        (json!({"code": 5}), 400, "invalid type"),
        (json!({"code": "print(1)", "session": "nope"}), 404, "no open session nope"),
    ] {
        let a = s.post("/v1/exec", &body);
        assert_eq!(a.code, code, "{body}: {}", a.body);
        assert!(a.json()["error"].as_str().unwrap_or_default().contains(needle), "{body}: {}", a.body);
    }
    let malformed = s.send("POST", "/v1/exec", Some("{\"code\": "), None);
    assert_eq!(malformed.code, 400);
    assert!(malformed.body.contains("not valid JSON"), "{}", malformed.body);
    assert_eq!(s.get("/nowhere").code, 404);
    let wrong_method = s.get("/v1/exec");
    assert_eq!(wrong_method.code, 405, "{}", wrong_method.body);

    let health = s.get("/healthz");
    assert_eq!(health.code, 200);
    assert_eq!(health.json()["status"], "ok");
    let metrics = s.get("/metrics");
    assert_eq!(metrics.code, 200);
    assert!(metrics.body.contains("# TYPE cir_execution_seconds histogram"), "{}", metrics.body);
    // ok: the first run, four draws, the echo-less run.
    assert_eq!(s.metric("cir_executions_total{status=\"ok\"}"), 6.0);
    assert_eq!(s.metric("cir_executions_total{status=\"timeout\"}"), 1.0);
    assert_eq!(s.metric("cir_executions_total{status=\"memory_limit\"}"), 1.0);
    assert_eq!(s.metric("cir_executions_total{status=\"output_limit\"}"), 1.0);
    assert_eq!(s.metric("cir_execution_seconds_count"), 10.0);
    assert_eq!(s.metric("cir_execution_seconds_bucket{le=\"+Inf\"}"), 10.0);
    assert_eq!(s.metric("cir_queue_depth"), 0.0);
    assert_eq!(s.metric("cir_sessions_open"), 0.0);
}

#[test]
fn oversized_bodies_get_413() {
    let s = Serve::start(&["--max-body", "4096"], &[]);
    let code = format!("print(len('{}'))", "a".repeat(10_000));
    let a = s.post("/v1/exec", &json!({ "code": code }));
    assert_eq!(a.code, 413, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap_or_default().contains("4096-byte limit"));
    let a = s.post("/run_code", &json!({ "code": code, "language": "python" }));
    assert_eq!(a.code, 413);
    assert_eq!(a.json()["status"], "SandboxError");
    // Just under the limit is served, on the same server.
    let fits = format!("print(len('{}'))", "a".repeat(3000));
    let a = s.post("/v1/exec", &json!({ "code": fits }));
    assert_eq!(a.code, 200, "{}", a.body);
    assert_eq!(a.json()["execution"]["stdout"], "3000\n");
}

#[test]
fn sessions_keep_state_until_closed_ended_or_expired() {
    let s = Serve::start(&["--max-sessions", "2", "--session-idle", "2"], &[]);
    let open = s.post("/v1/exec", &json!({"code": "x = 5\nx", "stateful": true}));
    assert_eq!(open.code, 200, "{}", open.body);
    let open = open.json();
    let id = open["session"].as_str().expect("a session id").to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(open["session_open"], true);
    assert_eq!(open["execution"]["stdout"], "5\n");
    let next = s.post("/v1/exec", &json!({"code": "x += 1\nprint(x * 2)", "session": id})).json();
    assert_eq!(next["execution"]["stdout"], "12\n", "{next}");
    assert_eq!(next["session"].as_str(), Some(id.as_str()));
    // A fresh execution does not see the session's names.
    let fresh = s.post("/v1/exec", &json!({"code": "print(x)"})).json();
    assert_eq!(fresh["execution"]["status"], "error");
    // Limits are fixed when the session opens.
    assert_eq!(s.post("/v1/exec", &json!({"code": "x", "session": id, "seed": 3})).code, 400);
    assert_eq!(s.metric("cir_sessions_open"), 1.0);

    // The cap: one more opens, the third is refused.
    let second = s.post("/v1/exec", &json!({"code": "y = 1", "stateful": true})).json();
    let second_id = second["session"].as_str().expect("second session").to_owned();
    let refused = s.post("/v1/exec", &json!({"code": "z = 1", "stateful": true}));
    assert_eq!(refused.code, 429, "{}", refused.body);
    assert!(refused.body.contains("--max-sessions"));

    // DELETE closes; the id is then unknown.
    assert_eq!(s.send("DELETE", &format!("/v1/sessions/{second_id}"), None, None).code, 200);
    assert_eq!(s.send("DELETE", &format!("/v1/sessions/{second_id}"), None, None).code, 404);
    assert_eq!(s.post("/v1/exec", &json!({"code": "y", "session": second_id})).code, 404);

    // An execution that stops the interpreter ends the session.
    let doomed =
        s.post("/v1/exec", &json!({"code": "while True: pass", "stateful": true, "limits": {"timeout_s": 0.3}})).json();
    assert_eq!(doomed["execution"]["status"], "timeout");
    assert_eq!(doomed["session_open"], false);
    let doomed_id = doomed["session"].as_str().expect("id").to_owned();
    assert_eq!(s.post("/v1/exec", &json!({"code": "1", "session": doomed_id})).code, 404);

    // Idle expiry (2 s), on a session opened now (loading the 0.3 s sandbox above may have taken longer than 2 s):
    // 1 s unused, it is still there; then 3.5 s unused, it is gone.
    let idle = s.post("/v1/exec", &json!({"code": "x = 1", "stateful": true})).json();
    let idle_id = idle["session"].as_str().expect("id").to_owned();
    std::thread::sleep(Duration::from_millis(1000));
    let kept = s.post("/v1/exec", &json!({"code": "print(x)", "session": idle_id})).json();
    assert_eq!(kept["execution"]["stdout"], "1\n", "{kept}");
    std::thread::sleep(Duration::from_millis(3500));
    let expired = s.post("/v1/exec", &json!({"code": "print(x)", "session": idle_id}));
    assert_eq!(expired.code, 404, "{}", expired.body);
    assert!(expired.body.contains("expired"));
    assert_eq!(s.metric("cir_sessions_open"), 0.0);
    assert_eq!(s.metric("cir_rejected_sessions_total"), 1.0);
}

#[test]
fn verify_grades_pairs_and_batches() {
    let s = Serve::start(&[], &[]);
    let one = s.post("/v1/verify", &json!({"pred": "so the answer is \\boxed{\\dfrac12}", "gold": "0.5"}));
    assert_eq!(one.code, 200, "{}", one.body);
    let one = one.json();
    assert_eq!(one["equivalent"], true);
    assert!(one["reason"].as_str().unwrap_or_default().starts_with("equal"), "{one}");
    assert_eq!(one["pred_answer"], "\\dfrac12");

    let no = s.post("/v1/verify", &json!({"pred": "\\boxed{3}", "gold": "4"})).json();
    assert_eq!((no["equivalent"].as_bool(), no["reason"].as_str()), (Some(false), Some("different")));

    let batch = s
        .post(
            "/v1/verify",
            &json!({"items": [
                {"pred": "\\boxed{28\\%}", "gold": "0.28"},
                {"pred": "\\boxed{28\\%}", "gold": "0.28", "options": {"percent": "unit"}},
                {"pred": "(2, 1)", "gold": "(1, 2)"},
                {"pred": "3.14", "gold": "3.1", "options": {"coarser_decimal_precision": true}},
                {"pred": "0.4\\%", "gold": "40\\%", "options": {"percent": "each-side"}},
            ], "options": {"unordered_tuples": true}}),
        )
        .json();
    let verdicts: Vec<_> =
        batch["results"].as_array().expect("results").iter().map(|r| r["equivalent"].clone()).collect();
    assert_eq!(verdicts, [json!(true), json!(false), json!(true), json!(true), json!(true)], "{batch}");

    for body in [
        json!({"pred": "1", "gold": "1", "options": {"percent": "weird"}}),
        json!({"pred": "1", "gold": "1", "extra": 1}),
        json!({"pred": "1"}),
        json!({"items": [{"pred": "1"}]}),
    ] {
        let a = s.post("/v1/verify", &body);
        assert_eq!(a.code, 400, "{body}: {}", a.body);
    }
    assert_eq!(s.metric("cir_verifications_total"), 7.0);
}

#[test]
fn bearer_token_guards_everything_but_healthz() {
    let s = Serve::start(&[], &[("CIR_TOKEN", "s3cret")]);
    assert_eq!(s.get("/healthz").code, 200);
    let body = json!({"code": "print(1)"}).to_string();
    let none = s.send("POST", "/v1/exec", Some(&body), None);
    assert_eq!(none.code, 401);
    assert_eq!(none.www_authenticate.as_deref(), Some("Bearer"));
    assert_eq!(s.send("POST", "/v1/exec", Some(&body), Some("wrong")).code, 401);
    assert_eq!(s.send("POST", "/run_code", Some(&body), None).code, 401);
    assert_eq!(s.send("GET", "/metrics", None, None).code, 401);
    let ok = s.send("POST", "/v1/exec", Some(&body), Some("s3cret"));
    assert_eq!(ok.code, 200, "{}", ok.body);
    assert_eq!(ok.json()["execution"]["stdout"], "1\n");
    assert_eq!(s.send("GET", "/metrics", None, Some("s3cret")).code, 200);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let s = Serve::start(&["--jobs", "1", "--queue", "1"], &[]);
    let base = s.base.clone();
    let body = json!({"code": "while True: pass", "limits": {"timeout_s": 1}}).to_string();
    let answers: Vec<(u16, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (base, body) = (base.clone(), body.clone());
                scope.spawn(move || {
                    let mut r = agent()
                        .post(format!("{base}/v1/exec"))
                        .header("Content-Type", "application/json")
                        .send(body.as_bytes())
                        .expect("request");
                    let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let _ = r.body_mut().read_to_string();
                    (r.status().as_u16(), retry)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let busy: Vec<_> = answers.iter().filter(|(c, _)| *c == 503).collect();
    let served = answers.iter().filter(|(c, _)| *c == 200).count();
    assert!(!busy.is_empty() && served >= 1, "{answers:?}");
    assert_eq!(busy.len() + served, answers.len(), "{answers:?}");
    assert!(busy.iter().all(|(_, retry)| retry.as_deref() == Some("1")), "{answers:?}");
    assert_eq!(s.metric("cir_rejected_overload_total"), busy.len() as f64);
    assert_eq!(s.metric("cir_executions_total{status=\"timeout\"}"), served as f64);
    // The server is healthy again once the burst is over.
    let after = s.post("/v1/exec", &json!({"code": "print('after')"}));
    assert_eq!(after.code, 200);
}

#[test]
fn concurrent_load_is_served_correctly() {
    let s = Serve::start(&["--jobs", "2"], &[]);
    let base = s.base.clone();
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|t| {
                let base = base.clone();
                scope.spawn(move || {
                    let agent = agent();
                    let mut wrong = Vec::new();
                    for i in 0..8 {
                        let n = t * 100 + i;
                        let (path, body) = if i % 2 == 0 {
                            ("/v1/exec", json!({"code": format!("print({n} * {n})")}))
                        } else {
                            ("/run_code", json!({"code": format!("print({n} * {n})"), "language": "python"}))
                        };
                        let r = agent
                            .post(format!("{base}{path}"))
                            .header("Content-Type", "application/json")
                            .send(body.to_string().as_bytes());
                        let text =
                            r.map(|mut r| (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()));
                        let expected = format!("{}\\n", n * n);
                        match text {
                            Ok((200, t)) if t.contains(&format!("\"stdout\":\"{expected}\"")) => {}
                            other => wrong.push(format!("{path} {n}: {other:?}")),
                        }
                    }
                    wrong
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("client thread")).collect()
    });
    assert!(wrong.is_empty(), "{} wrong answers, first: {:?}", wrong.len(), wrong.first());
    assert_eq!(s.metric("cir_executions_total{status=\"ok\"}"), 512.0);
    assert_eq!(s.metric("cir_rejected_overload_total"), 0.0);
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits() {
    let mut s = Serve::start(&[], &[]);
    let (base, pid) = (s.base.clone(), s.child.id());
    let slow = std::thread::spawn(move || {
        let body = json!({"code": "while True: pass", "limits": {"timeout_s": 2}}).to_string();
        let mut r = agent()
            .post(format!("{base}/v1/exec"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .expect("in-flight request");
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    });
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
    assert!(killed.success());
    let (code, body) = slow.join().expect("client thread");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"status\":\"timeout\""), "{body}");
    let (status, log) = s.exit();
    assert!(status.success(), "{status:?}");
    assert!(log.iter().any(|l| l.contains("every in-flight request finished")), "{log:?}");
}

#[test]
fn sigterm_gives_up_after_the_grace_period() {
    let mut s = Serve::start(&["--grace", "0.5", "--max-timeout", "30"], &[]);
    let (base, pid) = (s.base.clone(), s.child.id());
    std::thread::spawn(move || {
        let body = json!({"code": "while True: pass", "limits": {"timeout_s": 20}}).to_string();
        let _ =
            agent().post(format!("{base}/v1/exec")).header("Content-Type", "application/json").send(body.as_bytes());
    });
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill").success());
    let (status, log) = s.exit();
    assert!(!status.success(), "the run was cut, so the exit status says so: {status:?}");
    assert!(log.iter().any(|l| l.contains("the grace period ended")), "{log:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "exited after {:?}", started.elapsed());
}

#[test]
fn a_session_runs_one_request_at_a_time() {
    let s = Serve::start(&["--max-timeout", "10"], &[]);
    let open = s.post("/v1/exec", &json!({"code": "n = 0", "stateful": true, "limits": {"timeout_s": 3}})).json();
    let id = open["session"].as_str().expect("id").to_owned();
    let (base, busy_id) = (s.base.clone(), id.clone());
    let slow = std::thread::spawn(move || {
        let body = json!({"code": "while True: n += 1", "session": busy_id}).to_string();
        let mut r = agent()
            .post(format!("{base}/v1/exec"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .expect("slow request");
        r.body_mut().read_to_string().unwrap_or_default()
    });
    std::thread::sleep(Duration::from_millis(800));
    let second = s.post("/v1/exec", &json!({"code": "print(n)", "session": id}));
    assert_eq!(second.code, 409, "{}", second.body);
    let first: Value = serde_json::from_str(&slow.join().expect("client thread")).expect("JSON");
    assert_eq!(first["execution"]["status"], "timeout", "{first}");
    assert_eq!(first["session_open"], false);
    assert_eq!(s.post("/v1/exec", &json!({"code": "print(n)", "session": id})).code, 404);
}
