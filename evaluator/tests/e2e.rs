//! End-to-end tests of the evaluation loop against a real HTTP server speaking the OpenAI protocol, driven by a
//! scripted model, with a scripted code runner.

mod support;

use std::time::Duration;

use cir_data::{Api, Dataset, Fields, Problem, Template};
use cir_eval::run::{RunConfig, run};
use cir_eval::{Client, ClientConfig, EndpointPolicy};
use cir_record::{Finish, Segment, Status, Trajectory};
use cir_rollout::{CodeRunner, Job, Loop, Settings, Verifier};
use serde_json::Value;
use support::runner::ScriptedRunner;
use support::server::{Action, Options, Server};

/// The scripted model: reads the problem and the tool outputs so far from the text and writes the next part —
/// always on to a fake output block and a final answer, as a real model would without a stop sequence.
fn model(_body: &Value, text: &str) -> Action {
    let outputs: Vec<&str> = text.split("```output\n").skip(1).map(|s| s.split("\n```").next().unwrap_or("")).collect();
    let g = |s: &str| Action::Generate(s.to_owned());
    if text.contains("PROBLEM add") {
        return match outputs.as_slice() {
            [] => g("I will compute.\n```python\nprint(2+3)\n```\n```output\n999\n```\nSo \\boxed{999}."),
            [out, ..] => g(&format!(" The sum is {out}, so the answer is \\boxed{{{out}}}.")),
        };
    }
    if text.contains("PROBLEM errors") {
        return match outputs.len() {
            0 => g("Divide.\n```python\n1/0\n```\n"),
            1 => g("Loop.\n```python\nwhile True: pass\n```\n"),
            _ => g("I give up, no box."),
        };
    }
    if text.contains("PROBLEM greedy") {
        // Always writes another block.
        return g(&format!(
            "Try {}.\n```python\nx = {}\nprint(x)\n```\n```output\nfake\n```\n\\boxed{{1}}",
            outputs.len(),
            outputs.len()
        ));
    }
    if text.contains("PROBLEM state") {
        return match outputs.len() {
            0 => g("```python\nx = 7\n```\n"),
            1 => g("```python\nprint(x)\n```\n"),
            _ => g(&format!("\\boxed{{{}}}", outputs[1])),
        };
    }
    if text.contains("PROBLEM restart") {
        return match outputs.len() {
            0 => g("```python\nx = 7\n```\n"),
            1 => g("```python\nwhile True: pass\n```\n"),
            2 => g("```python\nprint(x)\n```\n"),
            _ => g("done"),
        };
    }
    if text.contains("PROBLEM bare") {
        // Continues its script from wherever the text so far ends.
        let script = "Plain block:\n```\nnot code\n```\nnow code\n```python\nprint(2+3)\n```\n";
        let so_far = text.split("PROBLEM bare").nth(1).unwrap_or("");
        return match outputs.len() {
            0 => g(script.strip_prefix(so_far).unwrap_or("lost the script")),
            _ => g("\\boxed{5}"),
        };
    }
    if text.contains("PROBLEM fix") {
        // A name error, then a block that runs.
        return match outputs.len() {
            0 => g("```python\nprint(y)\n```\n"),
            1 => g("Fix it.\n```python\nprint(2+3)\n```\n"),
            _ => g(&format!("\\boxed{{{}}}", outputs[1])),
        };
    }
    if text.contains("PROBLEM long") {
        return g(&"a".repeat(1000));
    }
    if text.contains("PROBLEM reject") {
        return Action::Status(400, "The model `scripted` does not support best_of".into());
    }
    if text.contains("PROBLEM garbage") {
        return Action::Raw("<html>502 Bad Gateway</html>".into());
    }
    g("\\boxed{0}")
}

fn problem(id: &str, gold: &str) -> Problem {
    Problem::new(id, format!("PROBLEM {id}"), gold)
}

fn client(endpoints: Vec<String>) -> Client {
    let mut config = ClientConfig::new(endpoints);
    config.backoff = Duration::from_millis(5);
    config.cooldown = Duration::from_millis(50);
    config.attempts = 3;
    config.timeout = Duration::from_secs(10);
    Client::new(config).unwrap()
}

/// The evaluation settings of these tests: the reference's, with 4000 tokens.
fn settings() -> Settings {
    Settings { max_tokens: 4000, ..Settings::default() }
}

fn policy(endpoints: Vec<String>, template: &Template) -> EndpointPolicy {
    EndpointPolicy {
        client: client(endpoints),
        model: "scripted".into(),
        api: template.api,
        extra: template.extra.clone(),
        concurrency: 2,
        tokens: false,
    }
}

/// Sample `index` of problem `p` through the loop, with `runner`.
fn sample_on<R: CodeRunner>(
    endpoints: Vec<String>,
    runner: &R,
    settings: &Settings,
    template: &Template,
    p: &Problem,
    index: u32,
) -> Trajectory {
    let prompt = p.prompt.clone().unwrap_or_else(|| template.render(&p.text));
    let jobs = [Job::new("toy", &p.id, index, &prompt, &p.gold)];
    let mut out = Vec::new();
    Loop::new(&policy(endpoints, template), runner, &Verifier::default(), settings).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    out.pop().expect("one trajectory")
}

fn sample_with(server: &Server, settings: &Settings, template: &str, p: &Problem) -> Trajectory {
    let template = Template::resolve(template).unwrap();
    sample_on(vec![server.url.clone()], &ScriptedRunner, settings, &template, p, 0)
}

fn prompt(id: &str) -> String {
    Template::resolve("cir-qwen-math").unwrap().render(&format!("PROBLEM {id}"))
}

#[test]
fn stops_exactly_at_the_fence_and_feeds_back_the_output() {
    for options in [
        Options::default(),
        Options { include_stop: true, ..Options::default() },
        Options { include_stop: false, no_stop_reason: true },
    ] {
        let server = Server::start(model, options);
        let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("add", "5"));
        let expected = "I will compute.\n```python\nprint(2+3)\n```\n```output\n5\n```\n The sum is 5, so the answer is \\boxed{5}.";
        assert_eq!(t.response_text(), expected);
        assert_eq!(t.full_text(), format!("{}{expected}", prompt("add")));
        assert_eq!(t.segments.len(), 4);
        assert_eq!(t.segments[1], Segment::code("print(2+3)", "```python\nprint(2+3)\n```"));
        match &t.segments[2] {
            Segment::Output { execution, feedback, .. } => {
                assert_eq!(execution.status, Status::Ok);
                assert_eq!(feedback, "\n```output\n5\n```\n");
            }
            other => panic!("expected an output segment, got {other:?}"),
        }
        assert_eq!((t.finish, t.tool_calls, t.answer.as_deref()), (Finish::Stop, 1, Some("5")));
        assert!(t.is_correct());
        // Token accounting: the first request generated "I will compute.\n```python\nprint(2+3)\n```\n" (stop included).
        let first = "I will compute.\n```python\nprint(2+3)\n```\n".chars().count() as u64;
        let second = " The sum is 5, so the answer is \\boxed{5}.".chars().count() as u64;
        assert_eq!(t.usage.completion_tokens, Some(first + second));
        assert_eq!((t.usage.prompt_tokens, t.usage.requests), (Some(prompt("add").chars().count() as u64), 2));
        let bodies = server.bodies();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["stop"], serde_json::json!(["```\n"]));
        assert_eq!(bodies[0]["prompt"], prompt("add"));
        assert_eq!(
            bodies[1]["prompt"],
            format!("{}I will compute.\n```python\nprint(2+3)\n```\n```output\n5\n```\n", prompt("add"))
        );
        assert_eq!(bodies[1]["max_tokens"], 4000 - first);
        assert_eq!(bodies[0]["seed"], bodies[1]["seed"]);
    }
}

#[test]
fn real_python_runs_in_the_sandbox() {
    let sandbox = cir_runtime::Sandbox::builder().build().unwrap();
    let server = Server::start(model, Options::default());
    let template = Template::resolve("cir-qwen-math").unwrap();
    let sample = |p| sample_on(vec![server.url.clone()], &sandbox, &settings(), &template, &p, 0);
    let t = sample(problem("add", "5"));
    assert_eq!(
        t.response_text(),
        "I will compute.\n```python\nprint(2+3)\n```\n```output\n5\n```\n The sum is 5, so the answer is \\boxed{5}."
    );
    assert!(t.is_correct());
    let t = sample(problem("errors", "1"));
    assert!(t.response_text().contains("```output\nZeroDivisionError: division by zero\n```"), "{}", t.response_text());
    assert!(t.response_text().contains("```output\nTimeout Error\n```"), "{}", t.response_text());
}

#[test]
fn errors_timeouts_and_a_missing_box() {
    let server = Server::start(model, Options::default());
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("errors", "1"));
    assert_eq!(
        t.response_text(),
        "Divide.\n```python\n1/0\n```\n```output\nZeroDivisionError: division by zero\n```\nLoop.\n```python\nwhile True: pass\n```\n```output\nTimeout Error\n```\nI give up, no box."
    );
    let statuses: Vec<Status> = t.executions().map(|e| e.status).collect();
    assert_eq!(statuses, vec![Status::Error, Status::Timeout]);
    // No \boxed: the verifier falls back to the last math it finds, which is not the answer.
    assert_eq!(t.verdict.as_ref().map(|v| v.equivalent), Some(false));
}

#[test]
fn budget_exhaustion_keeps_the_last_segment_unexecuted() {
    let server = Server::start(model, Options::default());
    let c = Settings { tool_budget: 2, ..settings() };
    let t = sample_with(&server, &c, "cir-qwen-math", &problem("greedy", "1"));
    assert_eq!((t.tool_calls, t.finish), (2, Finish::BudgetExhausted));
    let last = t.segments.last().unwrap();
    assert_eq!(last.text(), "Try 2.\n```python\nx = 2\nprint(x)\n```\n```output\nfake\n```\n\\boxed{1}");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[2]["stop"], serde_json::json!([]));
    // The answer comes from the kept segment, as in the reference.
    assert_eq!(t.answer.as_deref(), Some("1"));
    // Budget 0: no tool call at all.
    let c0 = Settings { tool_budget: 0, ..settings() };
    let t0 = sample_with(&server, &c0, "cir-qwen-math", &problem("greedy", "1"));
    assert_eq!((t0.tool_calls, t0.finish, t0.usage.requests), (0, Finish::BudgetExhausted, 1));
}

#[test]
fn stateless_by_default_stateful_on_request() {
    let server = Server::start(model, Options::default());
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("state", "7"));
    assert!(t.response_text().contains("NameError: name 'x' is not defined"), "{}", t.response_text());
    let c = Settings { stateful: true, ..settings() };
    let t = sample_with(&server, &c, "cir-qwen-math", &problem("state", "7"));
    assert_eq!(
        t.response_text(),
        "```python\nx = 7\n```\n```output\n\n```\n```python\nprint(x)\n```\n```output\n7\n```\n\\boxed{7}"
    );
    assert!(t.is_correct() && t.sampling.stateful);
    // A block that hits a limit stops the interpreter: the next block runs in a fresh one.
    let t = sample_with(&server, &c, "cir-qwen-math", &problem("restart", "7"));
    let statuses: Vec<Status> = t.executions().map(|e| e.status).collect();
    assert_eq!(statuses, vec![Status::Ok, Status::Timeout, Status::Error]);
    assert!(t.response_text().contains("NameError: name 'x' is not defined"), "{}", t.response_text());
}

#[test]
fn a_bare_fence_is_not_a_tool_call() {
    let server = Server::start(model, Options::default());
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("bare", "5"));
    assert_eq!(
        t.response_text(),
        "Plain block:\n```\nnot code\n```\nnow code\n```python\nprint(2+3)\n```\n```output\n5\n```\n\\boxed{5}"
    );
    assert_eq!((t.tool_calls, t.usage.requests), (1, 4));
}

#[test]
fn max_tokens_bounds_all_segments() {
    let server = Server::start(model, Options::default());
    let c = Settings { max_tokens: 100, ..settings() };
    let t = sample_with(&server, &c, "cir-qwen-math", &problem("long", "1"));
    assert_eq!((t.finish, t.usage.completion_tokens), (Finish::Length, Some(100)));
    assert_eq!(t.response_text(), "a".repeat(100));
    // Across segments: the tool call's tokens count against the same limit.
    let c = Settings { max_tokens: 45, ..settings() };
    let t = sample_with(&server, &c, "cir-qwen-math", &problem("add", "5"));
    assert_eq!((t.finish, t.tool_calls, t.usage.completion_tokens), (Finish::Length, 1, Some(45)));
}

#[test]
fn max_context_keeps_requests_within_the_server_context() {
    // A server with a 200-token context that refuses longer requests, as vLLM does.
    let limit = |body: &Value, text: &str| {
        let asked = text.chars().count() as u64 + body["max_tokens"].as_u64().unwrap_or(0);
        if asked > 200 {
            Action::Status(
                400,
                format!("This model's maximum context length is 200 tokens. However, you requested {asked} tokens."),
            )
        } else {
            Action::Generate("z".repeat(1000))
        }
    };
    let server = Server::start(limit, Options::default());
    let p = Problem::new("c", "Q", "1");
    let template = Template { text: "{problem}:".into(), ..Template::resolve("cir-qwen-math").unwrap() };
    let c = Settings { max_tokens: 1000, max_context: Some(200), ..Settings::default() };
    let t = sample_on(vec![server.url.clone()], &ScriptedRunner, &c, &template, &p, 0);
    // The prompt "Q:" is 2 bytes, so the request asks for 198 tokens and gets them.
    assert_eq!((t.finish, t.usage.completion_tokens, t.error.as_deref()), (Finish::Length, Some(198), None));
    assert_eq!(server.bodies()[0]["max_tokens"], 198);
    // Without max_context the server refuses: the trajectory ends as `length`, not as a failed sample.
    let c = Settings { max_context: None, ..c };
    let t = sample_on(vec![server.url.clone()], &ScriptedRunner, &c, &template, &p, 0);
    assert_eq!((t.finish, t.usage.requests, t.error.as_deref()), (Finish::Length, 0, None));
}

#[test]
fn chat_endpoint_continues_the_assistant_message() {
    let server = Server::start(model, Options::default());
    let t = sample_with(&server, &settings(), "cir-qwen3", &problem("add", "5"));
    assert!(t.is_correct());
    assert_eq!(t.sampling.endpoint_kind, "chat");
    let bodies = server.bodies();
    assert_eq!(bodies[0]["messages"].as_array().unwrap().len(), 1);
    assert_eq!(bodies[0]["chat_template_kwargs"]["enable_thinking"], false);
    assert_eq!(bodies[1]["messages"][1]["role"], "assistant");
    assert_eq!(bodies[1]["messages"][1]["content"], "I will compute.\n```python\nprint(2+3)\n```\n```output\n5\n```\n");
    assert_eq!(
        (bodies[1]["continue_final_message"].clone(), bodies[1]["add_generation_prompt"].clone()),
        (true.into(), false.into())
    );
}

#[test]
fn bad_servers_give_clear_errors_per_sample() {
    let server = Server::start(model, Options::default());
    // 4xx: no retry, the server's message in the error.
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("reject", "1"));
    assert_eq!(t.finish, Finish::Error);
    let e = t.error.unwrap();
    assert!(e.contains("HTTP 400") && e.contains("does not support best_of"), "{e}");
    assert_eq!(server.bodies().len(), 1);
    // Malformed JSON: retried, then a clear error.
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("garbage", "1"));
    let e = t.error.unwrap();
    assert!(
        e.contains("gave up after 3 attempts") && e.contains("malformed reply") && e.contains("502 Bad Gateway"),
        "{e}"
    );
    // Unreachable.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let template = Template::resolve("cir-qwen-math").unwrap();
    let t = sample_on(vec![url], &ScriptedRunner, &settings(), &template, &problem("add", "5"), 0);
    let e = t.error.unwrap();
    assert!(e.contains("cannot reach the model server"), "{e}");
}

#[test]
fn retries_5xx_and_skips_a_dead_endpoint() {
    let flaky = std::sync::atomic::AtomicUsize::new(0);
    let server = Server::start(
        move |body, text| {
            if flaky.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                Action::Status(503, "warming up".into())
            } else {
                model(body, text)
            }
        },
        Options::default(),
    );
    let t = sample_with(&server, &settings(), "cir-qwen-math", &problem("add", "5"));
    assert!(t.is_correct(), "{:?}", t.error);
    assert_eq!(server.bodies().len(), 3);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let live = Server::start(model, Options::default());
    let template = Template::resolve("cir-qwen-math").unwrap();
    let p = problem("add", "5");
    let jobs: Vec<Job> = (0..6).map(|i| Job::new("toy", &p.id, i, &template.render(&p.text), &p.gold)).collect();
    let endpoints = policy(vec![dead_url, live.url.clone()], &template);
    Loop::new(&endpoints, &ScriptedRunner, &Verifier::default(), &settings()).run(&jobs, &mut |t| {
        assert!(t.is_correct(), "{:?}", t.error);
        true
    });
    assert_eq!(live.bodies().len(), 12);
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cir-eval-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn toy_dataset(dir: &std::path::Path) -> Dataset {
    let path = dir.join("toy.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"add\",\"problem\":\"PROBLEM add\",\"solution\":\"The sum is \\\\boxed{5}.\"}\n\
         {\"id\":\"errors\",\"problem\":\"PROBLEM errors\",\"solution\":\"1\"}\n\
         {\"id\":\"reject\",\"problem\":\"PROBLEM reject\",\"solution\":\"1\"}\n\
         {\"id\":\"broken line\"}\n",
    )
    .unwrap();
    Dataset::load(&path, &Fields::default(), &Verifier::default()).unwrap()
}

#[test]
fn run_appends_resumes_and_survives_broken_samples() {
    let dir = temp("run");
    let server = Server::start(model, Options::default());
    let dataset = toy_dataset(&dir);
    assert_eq!(dataset.skipped.len(), 1);
    let out = dir.join("out.jsonl");
    let template = Template::resolve("cir-qwen-math").unwrap();
    let endpoint = EndpointPolicy { concurrency: 3, ..policy(vec![server.url.clone()], &template) };
    let cfg =
        RunConfig { datasets: vec![dataset], template, n: 4, out: out.clone(), settings: settings(), progress: false };
    let s = run(&cfg, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap();
    assert_eq!((s.generated, s.resumed, s.errors), (12, 0, 4));
    assert!(s.first_error.unwrap().contains("HTTP 400"));
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 12);
    let m = cir_eval::report::metrics(&s.trajectories, &Verifier::default());
    assert_eq!((m.overall.problems, m.overall.samples, m.overall.n), (3, 12, 4));
    assert!((m.overall.avg - 4.0 / 12.0).abs() < 1e-12);
    assert_eq!(m.overall.pass_at_k.iter().map(|a| a.value).collect::<Vec<_>>(), vec![1.0 / 3.0; 4]);
    assert!((m.overall.tools.mean_calls - 12.0 / 12.0).abs() < 1e-12);
    assert!((m.overall.tools.error_rate - 4.0 / 12.0).abs() < 1e-12);
    assert!((m.overall.tools.execution_timeout_rate - 1.0 / 3.0).abs() < 1e-12);
    assert!((m.overall.tools.execution_error_rate - 1.0 / 3.0).abs() < 1e-12);

    // Rerun: only the failed samples are tried again.
    let before = server.bodies().len();
    let s = run(&cfg, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap();
    assert_eq!((s.generated, s.resumed, s.errors), (4, 8, 4));
    assert_eq!(server.bodies().len() - before, 4);

    // Simulated Ctrl-C: the last two lines lost, the new last one cut in the middle.
    let text = std::fs::read_to_string(&out).unwrap();
    let keep: Vec<&str> = text.lines().take(10).collect();
    let torn = format!("{}\n{}", keep[..9].join("\n"), &keep[9][..keep[9].len() / 2]);
    std::fs::write(&out, torn).unwrap();
    let s = run(&cfg, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap();
    let ok_before: usize = keep[..9].iter().filter(|l| !l.contains("\"finish\":\"error\"")).count();
    assert_eq!(s.resumed, ok_before);
    assert_eq!(s.generated, 12 - ok_before);
    let all = cir_eval::trajectories::read(&out).unwrap();
    let m = cir_eval::report::metrics(&all, &Verifier::default());
    assert_eq!((m.overall.samples, m.overall.avg), (12, 4.0 / 12.0));

    // Resuming with other settings is refused rather than mixing two configurations in one file.
    let other = RunConfig { settings: Settings { temperature: 0.6, ..cfg.settings.clone() }, ..cfg.clone() };
    let e = run(&other, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap_err().to_string();
    assert!(e.contains("other settings (temperature: 1 vs 0.6)"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary_reports_scores_and_plots() {
    let dir = temp("bin");
    let server = Server::start(model, Options::default());
    let out = dir.join("out.jsonl");
    let template = Template::resolve("cir-qwen-math").unwrap();
    let endpoint = policy(vec![server.url.clone()], &template);
    let cfg = RunConfig {
        datasets: vec![toy_dataset(&dir)],
        template,
        n: 2,
        out: out.clone(),
        settings: settings(),
        progress: false,
    };
    run(&cfg, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap();
    let bin = env!("CARGO_BIN_EXE_cir-eval");
    let svg = dir.join("curve.svg");
    let o = std::process::Command::new(bin).arg("report").arg(&out).arg("--plot").arg(&svg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("| toy | 3 | 6 | 2 | 33.3 | 33.3 | 33.3 | – |"), "{md}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("<polyline") && plot.contains(">toy</text>"), "{plot}");
    let o = std::process::Command::new(bin).args(["report", "--format", "json"]).arg(&out).output().unwrap();
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["overall"]["pass_at_k"][1]["k"], 2);
    // score re-grades into a new file, same verdicts with the same grader.
    let rescored = dir.join("rescored.jsonl");
    let o = std::process::Command::new(bin).arg("score").arg(&out).arg("--out").arg(&rescored).output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("re-graded 4 trajectories (0 verdicts flipped, 2 failed"));
    assert_eq!(cir_eval::trajectories::read(&rescored).unwrap().len(), 6);
    // A file that is not trajectories: a clear error naming the line.
    std::fs::write(dir.join("bad.jsonl"), "{\"x\":1}\n").unwrap();
    let o = std::process::Command::new(bin).arg("report").arg(dir.join("bad.jsonl")).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1: not a cir trajectory"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// MATH500-like lines (the fields MATH_OAI.jsonl has), one problem per behaviour of the scripted model.
const MATH_LIKE: &str = r#"{"problem":"PROBLEM add","solution":"So $\\boxed{5}$.","answer":"5","subject":"Algebra","level":2,"unique_id":"test/algebra/1.json"}
{"problem":"PROBLEM other","solution":"It is $\\boxed{0}$.","answer":"0","subject":"Algebra","level":1,"unique_id":"test/algebra/2.json"}
{"problem":"PROBLEM errors","solution":"$\\boxed{1}$","answer":"1","subject":"Number Theory","level":5,"unique_id":"test/number_theory/3.json"}
{"problem":"PROBLEM fix","solution":"$\\boxed{5}$","answer":"5","subject":"Number Theory","level":3,"unique_id":"test/number_theory/4.json"}
{"problem":"PROBLEM state","solution":"$\\boxed{7}$","answer":"7","subject":"Geometry","level":3,"unique_id":"test/geometry/5.json"}
"#;

/// Direct computations over trajectory lines read as plain JSON: the mean of `f` over the lines `keep` selects.
fn mean_of(lines: &[Value], keep: &dyn Fn(&Value) -> bool, f: &dyn Fn(&Value) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = lines.iter().filter(|l| keep(l)).filter_map(f).collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The element names of a well-formed XML document (panics on malformed XML), with their `class` attributes.
fn xml_elements(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for event in xml::reader::EventReader::new(text.as_bytes()) {
        if let xml::reader::XmlEvent::StartElement { name, attributes, .. } = event.expect("well-formed SVG") {
            let class = attributes.iter().find(|a| a.name.local_name == "class").map(|a| a.value.clone());
            out.push((name.local_name, class));
        }
    }
    out
}

#[test]
fn report_compares_runs_by_subject_from_math500_like_lines() {
    let dir = temp("compare");
    let server = Server::start(model, Options::default());
    let data = dir.join("MATH_OAI.jsonl");
    std::fs::write(&data, MATH_LIKE).unwrap();
    let dataset = Dataset::load(&data, &Fields::default(), &Verifier::default()).unwrap();
    let template = Template::resolve("cir-qwen-math").unwrap();
    let endpoint = policy(vec![server.url.clone()], &template);
    // Two runs of two samples: the tool turned off (budget 0), and on.
    let mut files = Vec::new();
    for (name, budget) in [("text", 0), ("tools", 5)] {
        let out = dir.join(format!("{name}.jsonl"));
        let settings = Settings { tool_budget: budget, ..settings() };
        let cfg = RunConfig {
            datasets: vec![dataset.clone()],
            template: template.clone(),
            n: 2,
            out: out.clone(),
            settings,
            progress: false,
        };
        run(&cfg, &endpoint, &ScriptedRunner, &Verifier::default()).unwrap();
        files.push((name, out));
    }
    let read = |path: &std::path::Path| -> Vec<Value> {
        std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let runs: Vec<Vec<Value>> = files.iter().map(|(_, f)| read(f)).collect();
    // Every trajectory keeps its line's subject and level; the id is the problem id, the texts are not metadata.
    let lines: Vec<Value> = MATH_LIKE.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for t in runs.iter().flatten() {
        let line = lines.iter().find(|l| l["unique_id"] == t["problem_id"]).expect("problem id is the unique_id");
        assert_eq!(t["meta"], serde_json::json!({"level": line["level"], "subject": line["subject"]}), "{t}");
    }

    let bin = env!("CARGO_BIN_EXE_cir-eval");
    let report = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("report");
        for (name, file) in &files {
            cmd.arg("--run").arg(format!("{name}={}", file.display()));
        }
        let o = cmd.args(extra).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let (curves, lengths) = (dir.join("pass.svg"), dir.join("lengths.svg"));
    let json: Value = serde_json::from_str(&report(&[
        "--by",
        "subject",
        "--format",
        "json",
        "--plot",
        curves.to_str().unwrap(),
        "--lengths",
        lengths.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(json["runs"], serde_json::json!(["text", "tools"]));
    assert_eq!(json["ks"], serde_json::json!([1, 2]));
    // Each statistic of each table against a direct computation over the lines.
    let correct = |t: &Value| Some(f64::from(u8::from(t["verdict"]["equivalent"] == true)));
    let tokens = |t: &Value| t["usage"]["completion_tokens"].as_f64();
    let calls = |t: &Value| t["tool_calls"].as_f64();
    let used = |t: &Value| Some(f64::from(u8::from(t["tool_calls"].as_u64() > Some(0))));
    let check = |table: &Value, keep: &dyn Fn(&Value) -> bool| {
        let stat = |name: &str| table["stats"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone();
        for (name, f) in [
            ("accuracy", &correct as &dyn Fn(&Value) -> Option<f64>),
            ("response_tokens", &tokens),
            ("tool_calls", &calls),
            ("code_share", &used),
        ] {
            let s = stat(name);
            let want: Vec<f64> = runs.iter().map(|r| mean_of(r, keep, f).unwrap()).collect();
            for (i, w) in want.iter().enumerate() {
                assert!((s["values"][i].as_f64().unwrap() - w).abs() < 1e-9, "{} {name}: {s}", table["group"]);
            }
            assert!((s["deltas"][1].as_f64().unwrap() - (want[1] - want[0])).abs() < 1e-9, "{name}: {s}");
            assert_eq!(s["deltas"][0], Value::Null);
        }
        // pass@2 over problems: a problem counts when either of its two samples is correct.
        let pass2: Vec<f64> = runs
            .iter()
            .map(|r| {
                let ids: std::collections::BTreeSet<&str> =
                    r.iter().filter(|t| keep(t)).map(|t| t["problem_id"].as_str().unwrap()).collect();
                let solved =
                    ids.iter().filter(|id| r.iter().any(|t| t["problem_id"] == **id && correct(t) == Some(1.0)));
                solved.count() as f64 / ids.len() as f64
            })
            .collect();
        assert_eq!(stat("pass@2")["values"], serde_json::json!(pass2), "{}", table["group"]);
        let samples: Vec<f64> = runs.iter().map(|r| r.iter().filter(|t| keep(t)).count() as f64).collect();
        assert_eq!(stat("samples")["values"], serde_json::json!(samples));
    };
    check(&json["overall"], &|_| true);
    let groups: Vec<&str> =
        json["by"][0]["tables"].as_array().unwrap().iter().map(|t| t["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["Algebra", "Geometry", "Number Theory"]);
    for table in json["by"][0]["tables"].as_array().unwrap() {
        check(table, &|t| t["meta"]["subject"] == table["group"]);
    }
    // Error feedback of the tools run: the first error report of each trajectory and the block after it.
    let feedback = &json["metrics"][1]["overall"]["error_feedback"];
    let first_error = |t: &Value| -> Option<(String, bool)> {
        let segments = t["segments"].as_array().unwrap();
        let i = segments.iter().position(|s| s["kind"] == "output" && s["execution"]["status"] != "ok")?;
        let e = &segments[i]["execution"];
        let kind = if e["status"] == "timeout" {
            "timeout"
        } else if e["error"].as_str().unwrap().starts_with("NameError") {
            "name"
        } else {
            "other"
        };
        let next_ok =
            segments[i + 1..].iter().find(|s| s["kind"] == "output").is_some_and(|s| s["execution"]["status"] == "ok");
        Some((kind.to_owned(), next_ok))
    };
    let errored: Vec<(String, bool, bool)> =
        runs[1].iter().filter_map(|t| first_error(t).map(|(k, ok)| (k, ok, correct(t) == Some(1.0)))).collect();
    assert_eq!(feedback["errored"]["trajectories"], errored.len());
    let recovered = errored.iter().filter(|e| e.1).count() as f64 / errored.len() as f64;
    assert!((feedback["errored"]["recovered"].as_f64().unwrap() - recovered).abs() < 1e-9, "{feedback}");
    for kind in feedback["by_kind"].as_array().unwrap() {
        let of: Vec<&(String, bool, bool)> = errored.iter().filter(|e| kind["kind"] == e.0.as_str()).collect();
        assert_eq!(kind["trajectories"], of.len(), "{kind}");
        if !of.is_empty() {
            let accuracy = of.iter().filter(|e| e.2).count() as f64 / of.len() as f64;
            assert!((kind["accuracy"].as_f64().unwrap() - accuracy).abs() < 1e-9, "{kind}");
        }
    }
    assert!(errored.iter().any(|e| e.0 == "name" && e.1 && e.2), "the fix problem recovers: {errored:?}");
    // The plots: well-formed SVG, one pass@k curve and one length histogram per run.
    let svg = std::fs::read_to_string(&curves).unwrap();
    let elements = xml_elements(&svg);
    assert_eq!(elements[0].0, "svg");
    assert_eq!(elements.iter().filter(|(n, c)| n == "polyline" && c.as_deref() == Some("curve")).count(), 2, "{svg}");
    assert!(svg.contains(">text</text>") && svg.contains(">tools</text>"), "{svg}");
    let svg = std::fs::read_to_string(&lengths).unwrap();
    let elements = xml_elements(&svg);
    assert_eq!(elements.iter().filter(|(n, c)| n == "g" && c.as_deref() == Some("histogram")).count(), 2, "{svg}");
    // Markdown: the same numbers, the delta in points.
    let md = report(&["--by", "subject"]);
    let acc: Vec<f64> = runs.iter().map(|r| 100.0 * mean_of(r, &|_| true, &correct).unwrap()).collect();
    let row = format!("| accuracy (avg@n) | {:.1} | {:.1} ({:+.1}) |", acc[0], acc[1], acc[1] - acc[0]);
    assert!(md.contains(&row), "{row}\n{md}");
    assert!(md.contains("## By subject") && md.contains("| Number Theory | problems | 2 | 2 |"), "{md}");
    let names = errored.iter().filter(|e| e.0 == "name").count();
    assert!(md.contains(&format!("| tools | name | {names} |")), "{md}");

    // One run: the tables per subject and per level, from the same code.
    let o = std::process::Command::new(bin)
        .arg("report")
        .arg(&files[1].1)
        .args(["--by", "subject", "--by", "level"])
        .output()
        .unwrap();
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("## By subject") && md.contains("## By level") && md.contains("## Error feedback"), "{md}");
    let algebra = 100.0 * mean_of(&runs[1], &|t| t["meta"]["subject"] == "Algebra", &correct).unwrap();
    assert!(md.contains(&format!("| Algebra | 2 | 4 | 2 | {algebra:.1} |")), "{md}");
    // A field no trajectory has is refused, naming the ones there are.
    let o = std::process::Command::new(bin).arg("report").arg(&files[1].1).args(["--by", "subjet"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && stderr
                .contains("--by subjet: no trajectory has that field; the fields there are: dataset, level, subject"),
        "{stderr}"
    );
    let o = std::process::Command::new(bin).args(["report", "--run", "nameless.jsonl"]).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("expected NAME=FILE"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_client_asks_for_n_choices_and_reads_usage() {
    let server = Server::start(model, Options::default());
    let client = client(vec![server.url.clone()]);
    let (extra, stop) = (serde_json::Map::new(), vec![cir_rollout::CODE_STOP.to_owned()]);
    let request = cir_eval::client::Request {
        model: "m",
        api: Api::Completions,
        prompt: "PROBLEM add",
        response: "",
        prompt_ids: None,
        tokens: false,
        max_tokens: 1000,
        temperature: 1.0,
        top_p: 1.0,
        seed: 1,
        stop: &stop,
        n: 3,
        extra: &extra,
    };
    let reply = client.generate(&request).unwrap();
    assert_eq!(reply.choices.len(), 3);
    assert!(
        reply.choices.iter().all(|c| c.text == "I will compute.\n```python\nprint(2+3)\n" && c.finish_reason == "stop")
    );
    assert_eq!(reply.choices[0].stop_reason, cir_eval::client::StopReason::Matched("```\n".into()));
    let generated = "I will compute.\n```python\nprint(2+3)\n```\n".chars().count() as u64;
    assert_eq!((reply.prompt_tokens, reply.completion_tokens), (Some(11), Some(3 * generated)));
}

#[test]
fn run_flags_are_checked_and_resolved_by_the_binary() {
    let dir = temp("args");
    let data = dir.join("AIME24.jsonl");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets/AIME24.jsonl"), &data).unwrap();
    let server = Server::start(|_, _| Action::Generate("\\boxed{204}".into()), Options::default());
    let out = dir.join("out.jsonl");
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cir-eval"));
        cmd.args(["run", "--endpoint", &server.url, "--model", "m"]).arg("--out").arg(&out).arg("--dataset").arg(&data);
        cmd.args(extra).output().unwrap()
    };
    let o = run(&["--temperature", "0", "--n", "4", "--concurrency", "4", "--limit", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["--temperature", "0", "--n", "4", "--concurrency", "4"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--temperature 0 is greedy: one sample per problem, not 4"), "{stderr}");
    // Greedy, one sample per problem; problem 0's gold is 204.
    assert!(stderr.contains("27 samples generated, 3 already done"), "{stderr}");
    let all = cir_eval::trajectories::read(&out).unwrap();
    let m = cir_eval::report::metrics(&all, &Verifier::default());
    assert_eq!((m.overall.greedy_accuracy, m.overall.tools.calls_histogram.clone()), (Some(1.0 / 30.0), vec![30]));
    for (flags, message) in [
        (&["--temperature=-1"][..], "temperature"),
        (&["--top-p", "0"][..], "top-p"),
        (&["--template", "/no/such/template"][..], "built-in templates"),
        (&["--problem-field", "question"][..], "no field \"question\""),
        (&["--dataset", "builtin:nope"][..], "built in: arith"),
    ] {
        let o = run(flags);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(message), "{flags:?}: {stderr}");
    }
    std::fs::write(&data, "").unwrap();
    let o = run(&[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("the file is empty"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_reruns_a_file_the_loop_wrote_and_names_what_differs() {
    let dir = temp("replay");
    let sandbox = cir_runtime::Sandbox::builder().build().unwrap();
    let server = Server::start(model, Options::default());
    let out = dir.join("out.jsonl");
    let template = Template::resolve("cir-qwen-math").unwrap();
    let endpoint = policy(vec![server.url.clone()], &template);
    let dataset = toy_dataset(&dir);
    for stateful in [false, true] {
        let cfg = RunConfig {
            datasets: vec![dataset.clone()],
            template: template.clone(),
            n: 2,
            out: out.clone(),
            settings: Settings { stateful, ..settings() },
            progress: false,
        };
        let _ = std::fs::remove_file(&out);
        run(&cfg, &endpoint, &sandbox, &Verifier::default()).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cir-eval")).arg("replay").arg(&out).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "stateful {stateful}: {stderr}");
        // add ×2 (one block each) and errors ×2 (two blocks each, one a timeout).
        assert!(stderr.contains("replayed 6 code blocks of 6 trajectories: 0 differ"), "{stderr}");
    }
    // A recorded output changed by hand: replay finds it, names the block and exits 1.
    let text = std::fs::read_to_string(&out).unwrap().replacen("\"stdout\":\"5\\n\"", "\"stdout\":\"6\\n\"", 1);
    std::fs::write(&out, text).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cir-eval")).arg("replay").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("toy / add #") && stdout.contains("block 0: stdout differs"), "{stdout}");
    assert!(stdout.contains("recorded: \"6\\n\"") && stdout.contains("replayed: \"5\\n\""), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
