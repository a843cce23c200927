//! The loop in text mode (servers that return text only): every way a turn can end, the tool budget, stateful
//! sessions, failures — with a scripted policy answering turn by turn.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cir_record::{Execution, Finish, MetaValue, Segment, Status, Trajectory};
use cir_rollout::{
    CODE_STOP, CodeRunner, CodeSession, Generation, Job, Loop, Policy, PolicyError, PolicyInfo, RunnerError, Schedule,
    Settings, Stop, Turn, Verifier,
};

/// Answers each sample's turns from a script, in order; records the turns it saw.
struct Script {
    turns: Mutex<Vec<Vec<Result<Generation, PolicyError>>>>,
    seen: Mutex<Vec<(usize, bool, u64)>>,
    schedule: Schedule,
}

impl Script {
    fn new(samples: Vec<Vec<Result<Generation, PolicyError>>>) -> Script {
        Script {
            turns: Mutex::new(
                samples
                    .into_iter()
                    .map(|mut s| {
                        s.reverse();
                        s
                    })
                    .collect(),
            ),
            seen: Mutex::new(Vec::new()),
            schedule: Schedule::Independent { concurrency: 3 },
        }
    }
}

impl Policy for Script {
    fn schedule(&self) -> Schedule {
        self.schedule
    }
    fn info(&self) -> PolicyInfo {
        PolicyInfo { model: "m".into(), endpoint_kind: "completions".into(), policy: "endpoint".into() }
    }
    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        turns
            .iter()
            .map(|t| {
                self.seen.lock().unwrap().push((t.sample, t.stop_at_code, t.max_tokens));
                self.turns.lock().unwrap()[t.sample]
                    .pop()
                    .unwrap_or_else(|| Err(PolicyError::Failed("script over".into())))
            })
            .collect()
    }
}

fn ok(text: &str, stop: Stop) -> Result<Generation, PolicyError> {
    Ok(Generation { completion_tokens: Some(10), ..Generation::text(text, stop) })
}

/// Runs code by printing the code's first line; `fail` refuses it; sessions count their blocks and close after a
/// block containing `die`.
struct Runner;

impl CodeRunner for Runner {
    type Session = Counting;
    fn exec(&self, code: &str, _: u64) -> Result<Execution, RunnerError> {
        if code.trim().is_empty() {
            return Err("empty code".into());
        }
        Ok(Execution { stdout: format!("{}\n", code.lines().next().unwrap()), ..Execution::new(Status::Ok) })
    }
    fn session(&self, _: u64) -> Result<Counting, RunnerError> {
        Ok(Counting { runs: 0, open: true })
    }
}

struct Counting {
    runs: u32,
    open: bool,
}

impl CodeSession for Counting {
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError> {
        if code.trim().is_empty() {
            return Err("empty code".into());
        }
        self.runs += 1;
        if code.contains("die") {
            self.open = false;
            return Ok(Execution { error: Some("MemoryError".into()), ..Execution::new(Status::MemoryLimit) });
        }
        Ok(Execution { stdout: format!("run {}\n", self.runs), ..Execution::new(Status::Ok) })
    }
    fn is_open(&self) -> bool {
        self.open
    }
}

/// The dataset line's metadata of job `i`, which its trajectory keeps however it ends.
fn meta(i: usize) -> BTreeMap<String, MetaValue> {
    BTreeMap::from([
        ("level".to_owned(), MetaValue::Int(i as i64)),
        ("subject".to_owned(), MetaValue::Text("x".into())),
    ])
}

fn run(script: &Script, settings: &Settings, samples: usize) -> Vec<Trajectory> {
    let jobs: Vec<Job> =
        (0..samples).map(|i| Job::new("d", &i.to_string(), 0, "Q\n", "5").with_meta(meta(i))).collect();
    let mut out = Vec::new();
    Loop::new(script, &Runner, &Verifier::default(), settings).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    out.sort_by_key(|t| t.problem_id.clone());
    for t in &out {
        assert_eq!(t.meta, meta(t.problem_id.parse().unwrap()), "{t:?}");
    }
    out
}

#[test]
fn a_stripped_stop_string_is_re_closed_and_run() {
    let s = Script::new(vec![vec![
        ok("Compute.\n```python\nprint(5)\n", Stop::StopString(CODE_STOP.into())),
        ok("So \\boxed{5}.", Stop::Eos),
    ]]);
    let t = &run(&s, &Settings::default(), 1)[0];
    assert_eq!(t.response_text(), "Compute.\n```python\nprint(5)\n```\n```output\nprint(5)\n```\nSo \\boxed{5}.");
    assert_eq!((t.tool_calls, t.finish, t.is_correct()), (1, Finish::Stop, true));
    assert_eq!(t.usage.completion_tokens, Some(20));
    assert!(t.prompt_ids.is_none());
}

#[test]
fn an_unclosed_block_at_end_of_sequence_is_never_run() {
    // The server says why it stopped: end of sequence inside an open block is not a tool call.
    let s = Script::new(vec![vec![ok("```python\nprint(5)\n", Stop::Eos)]]);
    let t = &run(&s, &Settings::default(), 1)[0];
    assert_eq!((t.tool_calls, t.finish), (0, Finish::Stop));
    assert_eq!(t.response_text(), "```python\nprint(5)\n");
}

#[test]
fn an_unreported_stop_inside_an_open_block_is_read_as_the_fence() {
    let s = Script::new(vec![vec![ok("```python\nprint(7)\n", Stop::Unreported), ok("\\boxed{7}", Stop::Unreported)]]);
    let t = &run(&s, &Settings::default(), 1)[0];
    assert_eq!(t.tool_calls, 1);
    assert_eq!(t.finish, Finish::Stop);
}

#[test]
fn text_past_the_fence_is_dropped_and_a_bare_fence_is_kept() {
    let s = Script::new(vec![vec![
        ok("A bare block:\n```\nx\n", Stop::StopString(CODE_STOP.into())),
        ok("```python\nprint(1)\n```\n```output\ninvented\n```", Stop::Eos),
        ok("done", Stop::Eos),
    ]]);
    let t = &run(&s, &Settings::default(), 1)[0];
    assert_eq!(
        t.response_text(),
        "A bare block:\n```\nx\n```\n```python\nprint(1)\n```\n```output\nprint(1)\n```\ndone"
    );
    assert_eq!(t.tool_calls, 1);
}

#[test]
fn the_budget_ends_tool_calls_and_marks_an_unexecuted_block() {
    let block = || ok("```python\nprint(1)\n```", Stop::Fence);
    let s = Script::new(vec![vec![block(), block(), ok("```python\nprint(2)\n```", Stop::Eos)]]);
    let t = &run(&s, &Settings { tool_budget: 2, ..Settings::default() }, 1)[0];
    assert_eq!((t.tool_calls, t.finish), (2, Finish::BudgetExhausted));
    let seen = s.seen.lock().unwrap();
    assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), [true, true, false], "no stop once the budget is spent");
}

#[test]
fn max_tokens_and_failures_end_samples_not_runs() {
    let s = Script::new(vec![
        vec![ok("```python\nprint(1)\n```", Stop::Fence), ok("more", Stop::Length)],
        vec![Err(PolicyError::Failed("HTTP 400: bad request".into()))],
        vec![Err(PolicyError::ContextFull)],
    ]);
    let out = run(&s, &Settings { max_tokens: 15, ..Settings::default() }, 3);
    assert_eq!(out[0].finish, Finish::Length);
    assert_eq!(out[0].usage.completion_tokens, Some(20));
    assert_eq!((out[1].finish, out[1].error.as_deref()), (Finish::Error, Some("HTTP 400: bad request")));
    assert!(out[1].verdict.is_none());
    assert_eq!(out[2].finish, Finish::Length);
    // The second turn of the first sample asked for what was left of max_tokens.
    assert!(s.seen.lock().unwrap().iter().any(|&(sample, _, max)| sample == 0 && max == 5));
}

#[test]
fn stateful_sessions_survive_refused_blocks_and_restart_after_a_dead_one() {
    let s = Script::new(vec![vec![
        ok("```python\nx = 1\n```", Stop::Fence),
        ok("```python\n```", Stop::Fence),
        ok("```python\ny = 2\n```", Stop::Fence),
        ok("```python\ndie()\n```", Stop::Fence),
        ok("```python\nz = 3\n```", Stop::Fence),
        ok("\\boxed{5}", Stop::Eos),
    ]]);
    let t = &run(&s, &Settings { stateful: true, ..Settings::default() }, 1)[0];
    let outputs: Vec<&Execution> = t.executions().collect();
    assert_eq!(outputs[0].stdout, "run 1\n");
    assert!(outputs[1].error.as_deref().unwrap().contains("empty code"));
    assert_eq!(outputs[2].stdout, "run 2\n", "the refused empty block kept the interpreter");
    assert_eq!(outputs[3].status, Status::MemoryLimit);
    assert_eq!(outputs[4].stdout, "run 1\n", "a closed session is replaced by a fresh one");
}

#[test]
fn waves_are_reproducible_and_done_can_stop_the_run() {
    let make = || {
        let mut s = Script::new(
            (0..5)
                .map(|i| vec![ok("```python\nprint(1)\n```", Stop::Fence), ok(&format!("\\boxed{{{i}}}"), Stop::Eos)])
                .collect(),
        );
        s.schedule = Schedule::Waves { max_rows: 2 };
        s
    };
    let s = make();
    let a = run(&s, &Settings::default(), 5);
    let calls: Vec<usize> = s.seen.lock().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(calls, [0, 1, 0, 1, 2, 3, 2, 3, 4, 4], "two rows per call, in job order");
    let answers: Vec<String> = a.iter().map(|t| t.answer.clone().unwrap()).collect();
    assert_eq!(answers, ["0", "1", "2", "3", "4"], "each row got its own answers back");
    let s = make();
    let jobs: Vec<Job> = (0..5).map(|i| Job::new("d", &i.to_string(), 0, "Q\n", "5")).collect();
    let mut got = 0;
    Loop::new(&s, &Runner, &Verifier::default(), &Settings::default()).run(&jobs, &mut |_| {
        got += 1;
        false
    });
    assert_eq!(got, 2, "the samples in flight finish; none starts after a stop");
}

#[test]
fn a_panicking_policy_fails_its_samples() {
    struct Panics;
    impl Policy for Panics {
        fn schedule(&self) -> Schedule {
            Schedule::Waves { max_rows: 4 }
        }
        fn info(&self) -> PolicyInfo {
            PolicyInfo { model: "p".into(), endpoint_kind: "completions".into(), policy: "local".into() }
        }
        fn generate(&self, _: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
            panic!("device lost")
        }
    }
    let jobs = [Job::new("d", "0", 0, "Q", "1").with_meta(meta(0)), Job::new("d", "1", 0, "Q", "1")];
    let mut out: Vec<Trajectory> = Vec::new();
    Loop::new(&Panics, &Runner, &Verifier::default(), &Settings::default()).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    assert!(out.iter().all(|t| t.finish == Finish::Error && t.error.as_deref() == Some("the policy panicked")));
    out.sort_by_key(|t| t.problem_id.clone());
    assert_eq!((&out[0].meta, out[1].meta.is_empty()), (&meta(0), true), "a failed sample keeps its metadata");
    assert!(matches!(out[0].segments.as_slice(), [] | [Segment::Text { .. }]));
}
