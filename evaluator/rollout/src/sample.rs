//! One sample's state machine: turn → (code → feedback → turn)* → graded trajectory. Pure bookkeeping: the driver
//! ([`crate::Loop`]) calls the policy and the runner and hands their results here.

use std::time::Instant;

use cir_record::{
    Execution, Finish, SCHEMA_VERSION, Sampling, Segment, Status, Timing, Trajectory, Usage, feedback_after,
};

use crate::fence::{Block, CODE_STOP, OPEN, find_block};
use crate::policy::{Generation, PolicyInfo, Sampled, Stop, Turn};
use crate::{CodeRunner, CodeSession, Grader, Job, Policy, PolicyError, Settings, sample_seed};

/// Most model turns per trajectory: a guard against a policy that keeps answering without progress. Budget 5 needs
/// at most 6, plus one per fence that closes no Python block.
pub const MAX_TURNS: u32 = 64;

/// What a sample waits for.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    /// A model turn.
    Model,
    /// Running this code block.
    Code(String),
    /// Nothing: the trajectory is complete (grade it).
    Done,
}

/// One sample in flight.
pub(crate) struct SampleRun<S> {
    /// Its index among the run's jobs.
    pub index: usize,
    pub next: Next,
    t: Trajectory,
    response: String,
    /// Token mode: prompt ids followed by every segment's ids. `None` in text mode (or before the first turn).
    ids: Option<Vec<u32>>,
    /// False once any turn came back without tokens: the trajectory is then recorded in text mode.
    token_exact: bool,
    used: u64,
    tokens_reported: bool,
    /// Upper bound of the tokens in prompt + response, for `max_context`.
    context: u64,
    session: Option<S>,
    start: Instant,
}

impl<S: CodeSession> SampleRun<S> {
    pub fn new(index: usize, job: &Job, settings: &Settings, info: &PolicyInfo) -> SampleRun<S> {
        let seed = sample_seed(settings.seed, &job.dataset, &job.problem_id, job.sample);
        let t = Trajectory {
            schema: SCHEMA_VERSION,
            dataset: job.dataset.clone(),
            problem_id: job.problem_id.clone(),
            sample: job.sample,
            prompt: job.prompt.clone(),
            prompt_ids: None,
            gold: job.gold.clone(),
            meta: job.meta.clone(),
            segments: Vec::new(),
            finish: Finish::Stop,
            tool_calls: 0,
            usage: Usage::default(),
            answer: None,
            verdict: None,
            timing: Timing::default(),
            sampling: Sampling {
                model: info.model.clone(),
                endpoint_kind: info.endpoint_kind.clone(),
                policy: info.policy.clone(),
                temperature: settings.temperature,
                top_p: settings.top_p,
                max_tokens: settings.max_tokens,
                seed,
                sandbox_seed: seed,
                tool_budget: settings.tool_budget,
                stateful: settings.stateful,
                max_context: settings.max_context,
            },
            error: None,
        };
        SampleRun {
            index,
            next: Next::Model,
            context: job.prompt.len() as u64,
            t,
            response: String::new(),
            ids: None,
            token_exact: true,
            used: 0,
            tokens_reported: true,
            session: None,
            start: Instant::now(),
        }
    }

    /// Ends the sample when it has no room for another turn; true when a turn can be asked for.
    pub fn ready_for_turn(&mut self, settings: &Settings) -> bool {
        let room = settings.max_context.map_or(u64::MAX, |max| max.saturating_sub(self.context));
        if self.used >= settings.max_tokens || room == 0 {
            self.end(Finish::Length, None);
        } else if self.t.usage.requests >= MAX_TURNS {
            self.end(Finish::Error, Some(format!("more than {MAX_TURNS} model turns without finishing")));
        }
        self.next == Next::Model
    }

    /// The turn to ask for (after [`SampleRun::ready_for_turn`] said yes).
    pub fn turn<'a>(&'a self, settings: &Settings) -> Turn<'a> {
        let room = settings.max_context.map_or(u64::MAX, |max| max.saturating_sub(self.context));
        Turn {
            sample: self.index,
            prompt: &self.t.prompt,
            response: &self.response,
            context_ids: self.ids.as_deref(),
            max_tokens: (settings.max_tokens - self.used).min(room),
            temperature: settings.temperature,
            top_p: settings.top_p,
            seed: self.t.sampling.seed,
            stop_at_code: self.budget_left(),
        }
    }

    fn budget_left(&self) -> bool {
        self.t.tool_calls < self.t.sampling.tool_budget
    }

    /// Takes a turn's result.
    pub fn on_generation(&mut self, result: Result<Generation, PolicyError>, elapsed_ms: f64) {
        self.t.timing.generation_ms += elapsed_ms;
        let g = match result {
            Ok(g) => g,
            Err(PolicyError::ContextFull) => return self.end(Finish::Length, None),
            Err(e) => return self.end(Finish::Error, Some(e.to_string())),
        };
        self.count_usage(&g);
        let budget_left = self.budget_left();
        let Generation { text, stop, tokens, .. } = g;
        match tokens {
            Some(sampled) if self.token_exact => self.take_tokens(text, stop, sampled, budget_left),
            _ => self.take_text(text, stop, budget_left),
        }
    }

    fn count_usage(&mut self, g: &Generation) {
        let first = self.t.usage.requests == 0;
        self.t.usage.requests += 1;
        if first {
            if let Some(rendered) = &g.rendered_prompt {
                self.t.prompt.clone_from(rendered);
            }
            self.t.usage.prompt_tokens = g.prompt_tokens.or(g.prompt_ids.as_ref().map(|p| p.len() as u64));
            match (&g.prompt_ids, &g.tokens) {
                (Some(p), Some(_)) => {
                    self.t.prompt_ids = Some(p.clone());
                    self.ids = Some(p.clone());
                    self.context = p.len() as u64;
                }
                _ => self.token_exact = false,
            }
        } else if g.tokens.is_none() {
            self.token_exact = false;
        }
        let completion = g.completion_tokens.or(g.tokens.as_ref().map(|s| s.ids.len() as u64));
        match completion {
            Some(n) => self.used += n,
            None => self.tokens_reported = false,
        }
        self.context = match (&self.ids, g.prompt_tokens, g.completion_tokens) {
            (Some(ids), ..) if self.token_exact => ids.len() as u64 + completion.unwrap_or(0),
            (_, Some(p), Some(c)) => p + c,
            _ => self.context + g.text.len() as u64 + CODE_STOP.len() as u64,
        };
    }

    /// Token mode: the text is exactly the sampled ids' text.
    fn take_tokens(&mut self, mut text: String, stop: Stop, mut s: Sampled, budget_left: bool) {
        let block = if budget_left { find_block(&text) } else { None };
        let Some(block) = block else {
            let finish = final_finish(&text, &stop, budget_left);
            self.push_sampled(text, None, s);
            return self.end(finish, None);
        };
        // Tokens past the one that completes the fence were generated past the stop (a server that did not stop
        // there): drop them. The closing token itself is kept whole, with whatever else it carries.
        let keep = (0..s.ids.len()).find(|&i| token_start(&s.ends, i) >= block.end).unwrap_or(s.ids.len());
        s.ids.truncate(keep);
        s.logprobs.truncate(keep);
        s.ends.truncate(keep);
        let mut cut = s.ends.last().copied().unwrap_or(0).clamp(block.end, text.len());
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.truncate(cut);
        let code = text[block.code.clone()].to_owned();
        self.push_sampled(text, Some(&block), s);
        self.next = Next::Code(code);
    }

    /// Text mode: the text as a server returned it.
    fn take_text(&mut self, mut text: String, stop: Stop, budget_left: bool) {
        if budget_left {
            if let Some(block) = find_block(&text) {
                // Anything a server generated past the fence is dropped.
                text.truncate(block.end);
                let code = text[block.code.clone()].to_owned();
                self.push_sampled(text, Some(&block), Sampled::default());
                self.next = Next::Code(code);
                return;
            }
            let fence_stop = match &stop {
                Stop::StopString(s) => s == CODE_STOP,
                // Without `stop_reason`, an open block at the end of the text says the fence stop string was stripped.
                Stop::Unreported => crate::fence::ends_inside_block(&text),
                _ => false,
            };
            if fence_stop {
                // The stop string was sampled and stripped: re-append its fence. If that closes a block, the newline
                // after it is replaced by the feedback's own (the reference's text); if not, it is another fence
                // (a bare one opening some other block): keep it whole and go on.
                text.push_str("```");
                if let Some(block) = find_block(&text) {
                    let code = text[block.code.clone()].to_owned();
                    self.push_sampled(text, Some(&block), Sampled::default());
                    self.next = Next::Code(code);
                } else {
                    text.push('\n');
                    self.push_sampled(text, None, Sampled::default());
                    self.next = Next::Model;
                }
                return;
            }
        }
        let finish = final_finish(&text, &stop, budget_left);
        self.push_sampled(text, None, Sampled::default());
        self.end(finish, None);
    }

    /// Appends one turn's sampled text: prose, then the block when there is one. Token ids (empty in text mode) go to
    /// the segment where their text starts.
    fn push_sampled(&mut self, text: String, block: Option<&Block>, s: Sampled) {
        let token_mode = self.token_exact && self.ids.is_some();
        let split = block.map_or(text.len(), |b| b.start);
        let prose_ids = if block.is_some() {
            (0..s.ids.len()).take_while(|&i| token_start(&s.ends, i) < split).count()
        } else {
            s.ids.len()
        };
        let (ids_prose, ids_code) = s.ids.split_at(prose_ids);
        let (lp_prose, lp_code) = s.logprobs.split_at(prose_ids.min(s.logprobs.len()));
        let tokens = |ids: &[u32], lp: &[f32]| token_mode.then(|| (ids.to_vec(), lp.to_vec()));
        if let Some(all) = &mut self.ids {
            all.extend_from_slice(&s.ids);
        }
        let (prose, code_text) = text.split_at(split);
        if !prose.is_empty() || !ids_prose.is_empty() {
            let (ids, logprobs) = tokens(ids_prose, lp_prose).unzip();
            self.t.segments.push(Segment::Text { text: prose.to_owned(), ids, logprobs });
        }
        if let Some(b) = block {
            let (ids, logprobs) = tokens(ids_code, lp_code).unzip();
            let code = text[b.code.clone()].to_owned();
            self.t.segments.push(Segment::Code { code, text: code_text.to_owned(), ids, logprobs });
        }
        self.response.push_str(&text);
    }

    /// Runs the pending code block and appends its feedback (tokenised alone by a token policy).
    pub fn run_code<R: CodeRunner<Session = S>>(
        &mut self,
        runner: &R,
        policy: &(impl Policy + ?Sized),
        stateful: bool,
    ) {
        let Next::Code(code) = std::mem::replace(&mut self.next, Next::Model) else { return };
        let ran = Instant::now();
        let execution = execute(runner, &mut self.session, &code, self.t.sampling.sandbox_seed, stateful);
        self.t.timing.tool_ms += ms(ran);
        let full = execution.feedback();
        let feedback = feedback_after(&self.response, &full).to_owned();
        let ids = if self.token_exact && self.ids.is_some() { policy.tokenize(&feedback) } else { None };
        match (&mut self.ids, &ids) {
            (Some(all), Some(new)) => all.extend_from_slice(new),
            (Some(_), None) => self.token_exact = false,
            _ => {}
        }
        self.context += ids.as_ref().map_or(feedback.len(), Vec::len) as u64;
        self.response.push_str(&feedback);
        self.t.segments.push(Segment::Output { execution, feedback, ids });
        self.t.tool_calls += 1;
    }

    fn end(&mut self, finish: Finish, error: Option<String>) {
        self.t.finish = finish;
        self.t.error = error;
        self.next = Next::Done;
    }

    /// Grades and returns the trajectory (call once [`SampleRun::next`] is [`Next::Done`]).
    pub fn finish(mut self, grader: &(impl Grader + ?Sized)) -> Trajectory {
        let mut t = self.t;
        t.usage.completion_tokens = self.tokens_reported.then_some(self.used);
        if !(self.token_exact && self.ids.is_some()) {
            strip_tokens(&mut t);
        }
        if t.finish != Finish::Error {
            let graded = Instant::now();
            let (answer, verdict) = grader.grade(&self.response, &t.gold);
            t.timing.grading_ms = ms(graded);
            t.answer = answer;
            t.verdict = Some(verdict);
        }
        self.session = None;
        t.timing.total_ms = ms(self.start);
        t
    }
}

/// The finish of a turn that ends the trajectory.
fn final_finish(text: &str, stop: &Stop, budget_left: bool) -> Finish {
    if *stop == Stop::Length {
        Finish::Length
    } else if !budget_left && text.contains(OPEN) {
        Finish::BudgetExhausted
    } else {
        Finish::Stop
    }
}

/// Where token `i`'s text starts.
fn token_start(ends: &[usize], i: usize) -> usize {
    if i == 0 { 0 } else { ends.get(i - 1).copied().unwrap_or(0) }
}

/// Runs one code block as the loop does: in a fresh interpreter seeded with `seed`, or, when `stateful`, in
/// `session` — started on first use and started again after an execution that closed it (a notebook kernel
/// restarting). A block the runner refuses (empty, too long) or cannot run becomes an error execution whose error
/// line says why; a refusal leaves the session as it was. [`crate::replay`] runs stored blocks through this same
/// function.
pub fn execute<R: CodeRunner>(
    runner: &R,
    session: &mut Option<R::Session>,
    code: &str,
    seed: u64,
    stateful: bool,
) -> Execution {
    let result = if stateful {
        if session.as_ref().is_none_or(|s| !s.is_open()) {
            match runner.session(seed) {
                Ok(s) => *session = Some(s),
                Err(e) => return refused(&e.to_string()),
            }
        }
        session.as_mut().map(|s| s.exec(code))
    } else {
        Some(runner.exec(code, seed))
    };
    match result {
        Some(Ok(execution)) => execution,
        Some(Err(e)) => refused(&e.to_string()),
        None => refused("no interpreter"),
    }
}

fn refused(why: &str) -> Execution {
    Execution { error: Some(format!("the sandbox did not run the code: {why}")), ..Execution::new(Status::Error) }
}

/// Text mode: a trajectory recorded with ids on some turns only keeps none.
fn strip_tokens(t: &mut Trajectory) {
    t.prompt_ids = None;
    for s in &mut t.segments {
        match s {
            Segment::Text { ids, logprobs, .. } | Segment::Code { ids, logprobs, .. } => {
                *ids = None;
                *logprobs = None;
            }
            Segment::Output { ids, .. } => *ids = None,
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
