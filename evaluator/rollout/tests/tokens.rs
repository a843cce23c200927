//! Token-exact trajectories from scripted token streams: fences split across tokens, a fence inside a string, tokens
//! that carry half a UTF-8 character, unterminated blocks at the token limit, blocks at the end of the sequence. For
//! every stream the loop must keep ids, mask and text consistent and never panic.

use std::collections::HashMap;
use std::sync::Mutex;

use cir_record::{Execution, Finish, Segment, Status, Trajectory};
use cir_rollout::{
    CodeRunner, CodeSession, Generation, Job, Loop, Policy, PolicyError, PolicyInfo, RunnerError, Sampled, Schedule,
    Settings, Stop, Turn, Verifier, find_block,
};

/// SplitMix64: a tiny deterministic generator for the scripts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A byte-level vocabulary: ids are interned byte strings; id 0 is the end-of-sequence token (no text).
#[derive(Default)]
struct Vocab {
    pieces: Mutex<Pieces>,
}

/// The byte strings by id, and the ids by byte string.
type Pieces = (Vec<Vec<u8>>, HashMap<Vec<u8>, u32>);

const EOS: u32 = 0;

impl Vocab {
    fn id(&self, bytes: &[u8]) -> u32 {
        let mut guard = self.pieces.lock().unwrap();
        let (pieces, index) = &mut *guard;
        if pieces.is_empty() {
            pieces.push(Vec::new());
        }
        *index.entry(bytes.to_vec()).or_insert_with(|| {
            pieces.push(bytes.to_vec());
            (pieces.len() - 1) as u32
        })
    }

    fn bytes(&self, id: u32) -> Vec<u8> {
        self.pieces.lock().unwrap().0[id as usize].clone()
    }

    /// What a byte-level tokenizer's decode gives: the bytes joined, invalid UTF-8 replaced.
    fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&i| self.bytes(i)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Chops `bytes` into tokens of 1..=max bytes (splitting characters anywhere).
    fn chop(&self, bytes: &[u8], rng: &mut Rng, max: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let n = (1 + rng.below(max)).min(bytes.len() - at);
            out.push(self.id(&bytes[at..at + n]));
            at += n;
        }
        out
    }
}

/// Incremental detokenisation: each token's text is the characters it completes (a token holding half a character
/// has no text yet); at the end, dangling bytes become U+FFFD, as a lossy decode of the whole turn does.
fn detokenize(vocab: &Vocab, ids: &[u32]) -> (String, Vec<usize>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut text = String::new();
    let mut ends = Vec::with_capacity(ids.len());
    for &id in ids {
        pending.extend(vocab.bytes(id));
        let valid = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => e.valid_up_to() + e.error_len().unwrap_or(0),
        };
        text.push_str(&String::from_utf8_lossy(&pending[..valid]));
        pending.drain(..valid);
        ends.push(text.len());
    }
    if !pending.is_empty() {
        text.push_str(&String::from_utf8_lossy(&pending));
        if let Some(last) = ends.last_mut() {
            *last = text.len();
        }
    }
    (text, ends)
}

/// A model that plays back a script of tokens per sample, stopping the way a real sampler does: on the token that
/// closes a block (when asked), at EOS, or at its limit.
struct ScriptedModel {
    vocab: Vocab,
    /// Per sample: the token stream and how far it has been read.
    scripts: Mutex<Vec<(Vec<u32>, usize)>>,
    schedule: Schedule,
}

impl Policy for ScriptedModel {
    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn info(&self) -> PolicyInfo {
        PolicyInfo { model: "scripted".into(), endpoint_kind: "completions".into(), policy: "local".into() }
    }

    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        turns
            .iter()
            .map(|t| {
                let mut scripts = self.scripts.lock().unwrap();
                let (script, at) = &mut scripts[t.sample];
                let first = t.context_ids.is_none();
                let mut ids = Vec::new();
                let mut stop = Stop::Length;
                while (ids.len() as u64) < t.max_tokens {
                    let Some(&id) = script.get(*at) else {
                        stop = Stop::Eos;
                        break;
                    };
                    *at += 1;
                    ids.push(id);
                    if id == EOS {
                        stop = Stop::Eos;
                        break;
                    }
                    if t.stop_at_code && find_block(&detokenize(&self.vocab, &ids).0).is_some() {
                        stop = Stop::Fence;
                        break;
                    }
                }
                let (text, ends) = detokenize(&self.vocab, &ids);
                let logprobs = ids.iter().map(|&i| -(i as f32) / 1000.0).collect();
                let n = ids.len() as u64;
                Ok(Generation {
                    text,
                    stop,
                    tokens: Some(Sampled { ids, logprobs, ends }),
                    prompt_ids: first.then(|| self.vocab.chop(t.prompt.as_bytes(), &mut Rng(7), 3)),
                    rendered_prompt: None,
                    prompt_tokens: None,
                    completion_tokens: Some(n),
                })
            })
            .collect()
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        Some(self.vocab.chop(text.as_bytes(), &mut Rng(text.len() as u64), 2))
    }
}

/// Runs every block by echoing its code's length; refuses empty code as the sandbox does.
struct EchoRunner;

impl CodeRunner for EchoRunner {
    type Session = EchoSession;
    fn exec(&self, code: &str, _: u64) -> Result<Execution, RunnerError> {
        if code.trim().is_empty() {
            return Err("empty code".into());
        }
        Ok(Execution { stdout: format!("{}é\n", code.len()), ..Execution::new(Status::Ok) })
    }
    fn session(&self, _: u64) -> Result<EchoSession, RunnerError> {
        Ok(EchoSession(0))
    }
}

/// Counts the blocks it ran.
struct EchoSession(u32);

impl CodeSession for EchoSession {
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError> {
        if code.trim().is_empty() {
            return Err("empty code".into());
        }
        self.0 += 1;
        Ok(Execution { stdout: format!("block {}\n", self.0), ..Execution::new(Status::Ok) })
    }
    fn is_open(&self) -> bool {
        true
    }
}

/// Pieces a model writes, some of them awkward on purpose.
const PIECES: &[&str] = &[
    "Let me compute.\n",
    "```python\nprint(2 + 3)\n```",
    "```python\nprint(2 + 3)\n```\n",
    "```python\ns = '```'\nprint(s)\n```",
    "```python3\nx = 1\n```\n",
    "```\nplain\n```\n",
    "```python\n```",
    "héllo — ∑ 😀 ",
    "So \\boxed{5}.",
    "```python\nwhile True:\n",
    "\n",
];

/// A random response: pieces glued together, chopped into 1–4 byte tokens, ending with EOS or running out.
fn script(vocab: &Vocab, rng: &mut Rng) -> Vec<u32> {
    let mut text = String::new();
    for _ in 0..rng.below(12) {
        text.push_str(PIECES[rng.below(PIECES.len())]);
    }
    let mut ids = vocab.chop(text.as_bytes(), rng, 4);
    if rng.below(3) > 0 {
        ids.push(EOS);
    }
    ids
}

/// The invariants of a token-exact trajectory.
#[track_caller]
fn check(t: &Trajectory, vocab: &Vocab, emitted: &[u32]) {
    let view = t.token_view().unwrap_or_else(|| panic!("no token view: {t:?}"));
    // The ids decode to the text, byte for byte (special tokens have no text).
    assert_eq!(vocab.decode(&view.ids), t.full_text(), "{t:?}");
    // Sampled ids are what the model emitted, in order, none changed.
    let sampled: Vec<u32> = view.ids.iter().zip(&view.loss_mask).filter(|&(_, m)| *m == 1).map(|(&i, _)| i).collect();
    assert!(emitted.starts_with(&sampled), "sampled ids differ from the stream: {sampled:?} vs {emitted:?}");
    // The mask covers tool output with 0 and the recorded log-probs are the ones drawn.
    for (i, &m) in view.loss_mask.iter().enumerate() {
        let expected = if m == 1 { -(view.ids[i] as f32) / 1000.0 } else { 0.0 };
        assert_eq!(view.logprobs[i], expected);
    }
    for s in &t.segments {
        if let Segment::Output { feedback, ids, .. } = s {
            assert_eq!(&vocab.decode(ids.as_deref().unwrap()), feedback, "feedback is tokenised alone");
        }
    }
    // Each code block that ran is a real block by the fence rule, and ran its code.
    let text = t.response_text();
    assert_eq!(t.tool_calls as usize, t.segments.iter().filter(|s| matches!(s, Segment::Output { .. })).count());
    if t.tool_calls > 0 {
        assert!(find_block(&text).is_some());
    }
}

fn run(seed: u64, schedule: Schedule, settings: &Settings, samples: usize) -> (Vec<Trajectory>, Vec<Vec<u32>>, Vocab) {
    let vocab = Vocab::default();
    let mut rng = Rng(seed);
    let scripts: Vec<Vec<u32>> = (0..samples).map(|_| script(&vocab, &mut rng)).collect();
    let model =
        ScriptedModel { scripts: Mutex::new(scripts.iter().map(|s| (s.clone(), 0)).collect()), vocab, schedule };
    let jobs: Vec<Job> = (0..samples).map(|i| Job::new("toy", &i.to_string(), 0, "Add 2 and 3 — é?\n", "5")).collect();
    let mut out = Vec::new();
    Loop::new(&model, &EchoRunner, &Verifier::default(), settings).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    out.sort_by_key(|t| t.problem_id.parse::<usize>().unwrap());
    (out, scripts, model.vocab)
}

#[test]
fn random_streams_keep_ids_mask_and_text_consistent() {
    let mut tried = 0;
    let mut seen = std::collections::BTreeMap::new();
    for seed in 0..300 {
        for schedule in [Schedule::Waves { max_rows: 3 }, Schedule::Independent { concurrency: 2 }] {
            let settings = Settings {
                max_tokens: 20 + seed % 60,
                tool_budget: (seed % 4) as u32,
                stateful: seed % 5 == 0,
                ..Settings::default()
            };
            let (out, scripts, vocab) = run(seed, schedule, &settings, 4);
            assert_eq!(out.len(), 4);
            for (t, emitted) in out.iter().zip(&scripts) {
                assert_ne!(t.finish, Finish::Error, "{t:?}");
                check(t, &vocab, emitted);
                assert!(t.tool_calls <= settings.tool_budget);
                assert!(t.usage.completion_tokens.unwrap() <= settings.max_tokens);
                *seen.entry((t.finish.as_str(), t.tool_calls.min(2))).or_insert(0) += 1;
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 2400);
    // The streams reach every ending, with and without tool calls.
    for key in [("stop", 0), ("stop", 1), ("stop", 2), ("length", 0), ("length", 1), ("budget_exhausted", 1)] {
        assert!(seen.get(&key).copied().unwrap_or(0) > 20, "{key:?} too rare: {seen:?}");
    }
}

/// One scripted response given as its tokens, run to its end with budget 5.
fn one(tokens: &[&str]) -> (Trajectory, Vocab, Vec<u32>) {
    let vocab = Vocab::default();
    let mut ids: Vec<u32> = tokens.iter().map(|t| vocab.id(t.as_bytes())).collect();
    ids.push(EOS);
    let model =
        ScriptedModel { scripts: Mutex::new(vec![(ids.clone(), 0)]), vocab, schedule: Schedule::Waves { max_rows: 1 } };
    let mut out = Vec::new();
    let settings = Settings { max_tokens: 10_000, ..Settings::default() };
    Loop::new(&model, &EchoRunner, &Verifier::default(), &settings).run(
        &[Job::new("toy", "0", 0, "Q\n", "5")],
        &mut |t| {
            out.push(t);
            true
        },
    );
    (out.pop().unwrap(), model.vocab, ids)
}

const REFERENCE_TEXT: &str = "x\n```python\nprint(1)\n```\n```output\n8é\n```\nSo \\boxed{5}.";

#[test]
fn a_closing_token_that_carries_the_newline_keeps_the_reference_text() {
    let (t, vocab, ids) = one(&["x\n", "```", "python", "\n", "print", "(1)", "\n", "```\n", "So", " \\boxed{5}."]);
    check(&t, &vocab, &ids);
    assert_eq!(t.response_text(), REFERENCE_TEXT);
    assert_eq!(t.segments[1].text(), "```python\nprint(1)\n```\n", "the closing token keeps its newline");
    assert_eq!(t.segments[2].text(), "```output\n8é\n```\n", "so the feedback drops its own");
    assert!(t.is_correct());
}

#[test]
fn a_closing_token_without_the_newline_keeps_the_feedback_newline() {
    let (t, vocab, ids) = one(&["x\n```", "python\n", "print(1)\n", "```", "So", " \\boxed{5}."]);
    check(&t, &vocab, &ids);
    assert_eq!(t.segments[1].text(), "```python\nprint(1)\n```");
    assert_eq!(t.segments[2].text(), "\n```output\n8é\n```\n");
    // A token straddling prose and the fence stays with the prose, where its text starts.
    assert_eq!(t.segments[0].text(), "x\n");
    assert_eq!(t.segments[0].ids().map(<[u32]>::len), Some(1));
}

#[test]
fn an_unterminated_block_at_end_of_sequence_is_not_run() {
    let (t, vocab, ids) = one(&["Let me ", "```python\n", "print(", "1)\n"]);
    check(&t, &vocab, &ids);
    assert_eq!((t.tool_calls, t.finish), (0, Finish::Stop));
    assert_eq!(t.response_text(), "Let me ```python\nprint(1)\n");
}

#[test]
fn a_fence_inside_a_string_does_not_close_the_block() {
    let (t, vocab, ids) = one(&["```python\n", "s = '``", "`'\n", "print(s)", "\n``", "`\n", "done"]);
    check(&t, &vocab, &ids);
    assert_eq!(t.tool_calls, 1);
    match &t.segments[0] {
        Segment::Code { code, .. } => assert_eq!(code, "s = '```'\nprint(s)"),
        other => panic!("{other:?}"),
    }
}
