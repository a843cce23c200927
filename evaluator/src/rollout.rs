//! The tool loop: one trajectory from one problem.
//!
//! 1. Request a continuation of the prompt (plus the response so far) with the stop sequence [`CODE_STOP`], the
//!    closing fence of a code block followed by its newline, so generation pauses exactly at the end of a block.
//! 2. Check the returned text: if it holds a closed `` ```python `` block, everything up to its closing fence is kept
//!    (anything a server generated past it is dropped); if the server stopped on the stop sequence and stripped it
//!    (vLLM does), the fence is re-appended. A stop on a fence that closes no Python block (a bare `` ``` `` fence
//!    opening some other block) is not a tool call: the text and the fence are kept and generation goes on.
//! 3. Run the code ([`CodeRunner`], a fresh interpreter per block by default, one session per trajectory when
//!    stateful — restarted after a block that hit a limit), append [`Execution::feedback`] and go to 1.
//! 4. Once the tool budget is spent the next request carries no stop sequence: the model's last segment is kept as it
//!    is and nothing in it is executed (the reference's behaviour); if it still holds a code block, the trajectory's
//!    finish is `budget_exhausted`.
//! 5. `max_tokens` bounds the completion tokens of all requests together, as the server reports them (a server that
//!    reports no usage gets the whole limit on every request); `max_context`, when set, keeps each request within
//!    the server's context, and a request the server still refuses for its length ends the trajectory as `length`.
//!
//! A failed request ends the sample with finish `error` and the reason; the run goes on.

use std::time::Instant;

use cir_record::{Execution, Finish, SCHEMA_VERSION, Sampling, Segment, Status, Timing, Trajectory, Usage};

use crate::client::{Request, StopReason};
use crate::{Client, CodeRunner, CodeSession, Grader, Problem, Template};

/// The stop sequence: a closing fence and its newline. An opening `` ```python `` fence does not contain it. The
/// newline is not kept in the trajectory: the feedback starts with its own, as in the reference's text.
pub const CODE_STOP: &str = "```\n";

/// Most requests per trajectory, a guard against a server that keeps answering without progress. Default budget 5
/// needs at most 6 plus one per non-Python fence.
pub const MAX_REQUESTS: u32 = 64;

/// Sampling and loop settings shared by every sample of a run.
#[derive(Clone, Debug)]
pub struct RolloutConfig {
    /// Model name sent to the server.
    pub model: String,
    /// Prompt template.
    pub template: Template,
    /// Sampling temperature; default 1.0 (reference); 0 is greedy.
    pub temperature: f64,
    /// Nucleus mass; default 0.95 (reference).
    pub top_p: f64,
    /// New tokens across all segments of a trajectory; default 16384 (reference).
    pub max_tokens: u64,
    /// Most tool calls per trajectory; default 5 (reference evaluation).
    pub tool_budget: u32,
    /// One interpreter per trajectory instead of one per block; default off (reference).
    pub stateful: bool,
    /// The server's context length (prompt + generated tokens); default none. When set, each request asks for at most
    /// what still fits: the server's own count of the last request's prompt and completion, plus one token per byte of
    /// text appended since (an upper bound), so the server never rejects a request for its length.
    pub max_context: Option<u64>,
    /// Run seed; every sample derives its own from it ([`sample_seed`]).
    pub seed: u64,
}

impl RolloutConfig {
    /// The reference's evaluation settings for `model` with `template`.
    pub fn new(model: &str, template: Template) -> RolloutConfig {
        RolloutConfig {
            model: model.to_owned(),
            template,
            temperature: 1.0,
            top_p: 0.95,
            max_tokens: 16384,
            tool_budget: 5,
            stateful: false,
            max_context: None,
            seed: 0,
        }
    }
}

/// The seed of one sample: a hash of the run seed, dataset, problem id and sample index, below 2³¹ (some servers
/// take a 32-bit signed seed).
pub fn sample_seed(seed: u64, dataset: &str, problem_id: &str, sample: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in dataset.bytes().chain([0xff]).chain(problem_id.bytes()).chain([0xff]).chain(sample.to_le_bytes()) {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 31)) & 0x7fff_ffff
}

/// Everything one sample needs; shared by the worker threads.
pub struct Rollout<'a, R: CodeRunner, G: Grader + ?Sized> {
    /// Model server client.
    pub client: &'a Client,
    /// Code runner.
    pub runner: &'a R,
    /// Grader.
    pub grader: &'a G,
    /// Settings.
    pub config: &'a RolloutConfig,
}

/// A code block found in generated text.
#[derive(Debug, PartialEq)]
struct Block {
    /// Text before the opening fence.
    before: String,
    /// The code.
    code: String,
    /// The block as it stands in the trajectory, fences included.
    text: String,
}

impl<R: CodeRunner, G: Grader + ?Sized> Rollout<'_, R, G> {
    /// Samples, executes and grades one trajectory. Never fails: a failure is a trajectory with finish `error`.
    pub fn sample(&self, dataset: &str, problem: &Problem, sample: u32) -> Trajectory {
        let start = Instant::now();
        let c = self.config;
        let mut t = self.blank(dataset, problem, sample);
        let seed = t.sampling.seed;
        let stop = [CODE_STOP.to_owned()];
        let mut response = String::new();
        let mut used = 0u64;
        let mut tokens_reported = true;
        // Upper bound of the tokens in prompt + response, for `max_context`.
        let mut context = t.prompt.len() as u64;
        let mut session: Option<R::Session> = None;
        loop {
            let room = c.max_context.map_or(u64::MAX, |max| max.saturating_sub(context));
            if used >= c.max_tokens || room == 0 {
                t.finish = Finish::Length;
                break;
            }
            if t.usage.requests >= MAX_REQUESTS {
                t.finish = Finish::Error;
                t.error = Some(format!("more than {MAX_REQUESTS} requests without finishing"));
                break;
            }
            let budget_left = t.tool_calls < c.tool_budget;
            let request = Request {
                model: &c.model,
                api: c.template.api,
                prompt: &t.prompt,
                response: &response,
                max_tokens: (c.max_tokens - used).min(room),
                temperature: c.temperature,
                top_p: c.top_p,
                seed,
                stop: if budget_left { &stop } else { &[] },
                n: 1,
                extra: &c.template.extra,
            };
            let asked = Instant::now();
            let reply = self.client.generate(&request);
            t.timing.generation_ms += ms(asked);
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) if e.is_context_overflow() => {
                    // The server's context is full: the trajectory ran out of room, as with `length`.
                    t.finish = Finish::Length;
                    break;
                }
                Err(e) => {
                    t.finish = Finish::Error;
                    t.error = Some(e.to_string());
                    break;
                }
            };
            if t.usage.requests == 0 {
                t.usage.prompt_tokens = reply.prompt_tokens;
            }
            t.usage.requests += 1;
            let generated_bytes = reply.choices.first().map_or(0, |c| c.text.len() as u64);
            context = match (reply.prompt_tokens, reply.completion_tokens) {
                (Some(p), Some(g)) => p + g,
                _ => context + generated_bytes + CODE_STOP.len() as u64,
            };
            match reply.completion_tokens {
                Some(n) => used += n,
                None => tokens_reported = false,
            }
            let Some(choice) = reply.choices.into_iter().next() else {
                t.finish = Finish::Error;
                t.error = Some("the server returned no choice".into());
                break;
            };
            let stopped_on_fence = choice.finish_reason == "stop"
                && match &choice.stop_reason {
                    StopReason::Unreported => true,
                    StopReason::Matched(s) => s == CODE_STOP,
                    StopReason::EndOfSequence | StopReason::Other => false,
                };
            if budget_left {
                if let Some(block) = find_block(&choice.text, stopped_on_fence) {
                    push_text(&mut t, &mut response, block.before);
                    response.push_str(&block.text);
                    t.segments.push(Segment::Code { code: block.code.clone(), text: block.text });
                    let ran = Instant::now();
                    let execution = self.execute(&block.code, seed, &mut session);
                    t.timing.tool_ms += ms(ran);
                    let feedback = execution.feedback();
                    response.push_str(&feedback);
                    context += feedback.len() as u64;
                    t.segments.push(Segment::Output { execution, feedback });
                    t.tool_calls += 1;
                    continue;
                }
                let fence_evident = match &choice.stop_reason {
                    StopReason::Matched(s) => s == CODE_STOP,
                    // Without `stop_reason`, only a kept fence tells a fence stop from the end of the sequence.
                    StopReason::Unreported => choice.text.ends_with(CODE_STOP),
                    StopReason::EndOfSequence | StopReason::Other => false,
                };
                if choice.finish_reason == "stop" && fence_evident {
                    // A fence that closes no Python block: keep it (re-appended when stripped) and go on.
                    let mut text = choice.text;
                    if !text.ends_with(CODE_STOP) {
                        text.push_str(CODE_STOP);
                        context += CODE_STOP.len() as u64;
                    }
                    push_text(&mut t, &mut response, text);
                    continue;
                }
            }
            t.finish = if choice.finish_reason == "length" {
                Finish::Length
            } else if !budget_left && choice.text.contains("```python") {
                Finish::BudgetExhausted
            } else {
                Finish::Stop
            };
            push_text(&mut t, &mut response, choice.text);
            break;
        }
        t.usage.completion_tokens = tokens_reported.then_some(used);
        if t.finish != Finish::Error {
            let graded = Instant::now();
            let (answer, verdict) = self.grader.grade(&response, &t.gold);
            t.timing.grading_ms = ms(graded);
            t.answer = answer;
            t.verdict = Some(verdict);
        }
        t.timing.total_ms = ms(start);
        t
    }

    /// A trajectory for a sample that could not be run at all, with finish `error` and `reason`.
    pub fn failed(&self, dataset: &str, problem: &Problem, sample: u32, reason: &str) -> Trajectory {
        Trajectory { finish: Finish::Error, error: Some(reason.to_owned()), ..self.blank(dataset, problem, sample) }
    }

    fn blank(&self, dataset: &str, problem: &Problem, sample: u32) -> Trajectory {
        let c = self.config;
        let seed = sample_seed(c.seed, dataset, &problem.id, sample);
        Trajectory {
            schema: SCHEMA_VERSION,
            dataset: dataset.to_owned(),
            problem_id: problem.id.clone(),
            sample,
            prompt: problem.prompt.clone().unwrap_or_else(|| c.template.render(&problem.text)),
            gold: problem.gold.clone(),
            segments: Vec::new(),
            finish: Finish::Stop,
            tool_calls: 0,
            usage: Usage::default(),
            answer: None,
            verdict: None,
            timing: Timing::default(),
            sampling: Sampling {
                model: c.model.clone(),
                endpoint_kind: c.template.api.as_str().to_owned(),
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens: c.max_tokens,
                seed,
                sandbox_seed: seed,
                tool_budget: c.tool_budget,
                stateful: c.stateful,
                max_context: c.max_context,
            },
            error: None,
        }
    }

    fn execute(&self, code: &str, seed: u64, session: &mut Option<R::Session>) -> Execution {
        let result = if self.config.stateful {
            let result = match session {
                Some(s) => s.exec(code),
                None => self.runner.session(seed).and_then(|s| session.insert(s).exec(code)),
            };
            // A limit or trap stops the interpreter: the next block starts a fresh one, as a notebook kernel restarts.
            if !matches!(&result, Ok(e) if matches!(e.status, Status::Ok | Status::Error)) {
                *session = None;
            }
            result
        } else {
            self.runner.exec(code, seed)
        };
        result.unwrap_or_else(|e| Execution {
            error: Some(format!("the sandbox did not run the code: {e}")),
            ..Execution::new(Status::Error)
        })
    }
}

fn push_text(t: &mut Trajectory, response: &mut String, text: String) {
    if !text.is_empty() {
        response.push_str(&text);
        t.segments.push(Segment::Text { text });
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The first `` ```python `` block of `text` that is closed by a fence at the start of a line — or, when the server
/// stopped on [`CODE_STOP`] and stripped it, the block left open at the end of the text.
fn find_block(text: &str, stopped_on_fence: bool) -> Option<Block> {
    const OPEN: &str = "```python";
    let open = text.find(OPEN)?;
    let newline = text[open..].find('\n')? + open;
    if !text[open + OPEN.len()..newline].trim().is_empty() {
        return None;
    }
    let code_start = newline + 1;
    let body = &text[code_start..];
    let mut close = None;
    let mut from = 0;
    while let Some(i) = body[from..].find("```") {
        let at = from + i;
        if at == 0 || body.as_bytes()[at - 1] == b'\n' {
            close = Some(at);
            break;
        }
        from = at + 3;
    }
    let (code, block_end, fence) = match close {
        Some(at) => (&body[..at], code_start + at + 3, ""),
        None if stopped_on_fence => (body, text.len(), "```"),
        None => return None,
    };
    let code = code.strip_suffix('\n').unwrap_or(code);
    Some(Block {
        before: text[..open].to_owned(),
        code: code.to_owned(),
        text: format!("{}{fence}", &text[open..block_end]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(before: &str, code: &str, text: &str) -> Option<Block> {
        Some(Block { before: before.into(), code: code.into(), text: text.into() })
    }

    #[test]
    fn blocks_are_found_closed_or_reclosed() {
        // The server kept the fence and went on: cut after it.
        assert_eq!(
            find_block("Hi\n```python\nprint(1)\n```\n```output\n9\n```", false),
            block("Hi\n", "print(1)", "```python\nprint(1)\n```")
        );
        // vLLM stripped the stop sequence: re-append the fence.
        assert_eq!(
            find_block("Hi\n```python\nx = 1\nprint(x)\n", true),
            block("Hi\n", "x = 1\nprint(x)", "```python\nx = 1\nprint(x)\n```")
        );
        // Ended at EOS inside a block: not a tool call.
        assert_eq!(find_block("```python\nprint(1)\n", false), None);
        // Backticks inside code are not a fence; another language is not a tool call.
        assert_eq!(find_block("```python\ns = '```'\n```", false), block("", "s = '```'", "```python\ns = '```'\n```"));
        assert_eq!(find_block("```js\nx\n```", true), None);
        assert_eq!(find_block("```python3\nx\n```", true), None);
        assert_eq!(find_block("no code", true), None);
    }

    #[test]
    fn sample_seeds_differ_and_fit_31_bits() {
        let a = sample_seed(0, "d", "p", 0);
        assert_eq!(a, sample_seed(0, "d", "p", 0));
        assert_ne!(a, sample_seed(0, "d", "p", 1));
        assert_ne!(a, sample_seed(1, "d", "p", 0));
        assert_ne!(sample_seed(0, "d", "p1", 0), sample_seed(0, "dp", "1", 0));
        assert!(a < 1 << 31);
    }
}
