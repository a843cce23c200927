//! The trajectory: one sampled solution of one problem, as `cir-eval run` writes it (one JSON object per line), and as
//! `cir-eval score`/`report`, the trainer and the browser viewer read it.
//!
//! # Schema, version 2
//!
//! | field | type | meaning |
//! | --- | --- | --- |
//! | `schema` | integer | `2` for this layout ([`SCHEMA_VERSION`]); readers also take `1` (no token fields); other values are refused ([`is_readable_schema`]) |
//! | `dataset` | string | dataset name (the file stem, e.g. `AIME24`) |
//! | `problem_id` | string | the problem's id field, else its 0-based line number in the dataset |
//! | `sample` | integer | sample index within the problem, `0..n` |
//! | `prompt` | string | the exact prompt text the model continued: raw completion text; for an in-process model with a chat template, the rendered template; for chat endpoints, the user message (the server renders it) |
//! | `prompt_ids` | array of integers, absent in text mode | token mode: the prompt's token ids, exactly as the model read them |
//! | `gold` | string | the gold answer as graded (the last `\boxed{}` of a worked solution, else the field trimmed) |
//! | `meta` | object, optional (absent when empty; older files have none) | the dataset line's own metadata: every scalar field (string, number, boolean) other than the problem, the answer and the id, as the line has it, e.g. MATH500's `{"level": 2, "subject": "Precalculus"}`; a nested object's scalars under dotted names (`extra_info.split`); reports group by it (`cir-eval report --by subject`) |
//! | `segments` | array | what followed the prompt, in order (below); `prompt + concat(segment texts)` is the whole text |
//! | `finish` | string | `stop`, `length`, `budget_exhausted` or `error` ([`Finish`]) |
//! | `tool_calls` | integer | code blocks executed |
//! | `usage` | object | `prompt_tokens` (first request), `completion_tokens` (sum over requests), `requests`; token counts are null when the policy reports none |
//! | `answer` | string or null | the extracted final answer |
//! | `verdict` | object or null | `{equivalent, reason}` from the verifier; null when grading was not run |
//! | `timing` | object | `generation_ms`, `tool_ms`, `grading_ms`, `total_ms` (host wall clock) |
//! | `sampling` | object | `model`, `endpoint_kind` (`completions`/`chat`), `policy` (`endpoint`: an OpenAI-compatible server; `local`: the burn model in-process; empty in schema 1), `temperature`, `top_p`, `max_tokens`, `seed` (sampling seed), `sandbox_seed`, `tool_budget`, `stateful`, `max_context` |
//! | `error` | string or null | why the sample failed when `finish` is `error` (server unreachable, 4xx, malformed reply…) |
//!
//! A segment is an object tagged by `kind`:
//!
//! | kind | fields | text it contributes |
//! | --- | --- | --- |
//! | `text` | `text`, token mode: `ids`, `logprobs` | `text`: sampled model prose |
//! | `code` | `code`, `text`, token mode: `ids`, `logprobs` | `text`: the block as it stands in the trajectory, `` ```python\n{code}\n``` `` (fences included; see below for what a closing token may carry); `code` is what ran |
//! | `output` | `execution` (an [`Execution`]), `feedback`, token mode: `ids` | `feedback`: the exact text appended after the block (`"\n```output\n…\n```\n"`) |
//!
//! A `code` segment is followed by its `output` unless the trajectory ended there (error).
//!
//! # Token mode
//!
//! When the policy reports token ids (the in-process burn model always does; an HTTP server when it returns them),
//! the trajectory is *token-exact*: `prompt_ids` followed by every segment's `ids` is the exact sequence the model
//! read and wrote, and nothing was ever re-tokenised.
//! - `text` and `code` segments are sampled (loss mask 1): their `ids` are the ids as drawn and `logprobs` the
//!   log-probability of each under the model at sampling time (temperature 1, before any top-p/top-k filtering: the
//!   policy-gradient ratio's denominator). One model turn may hold prose and a code block; a token whose text spans
//!   both (`.\n```python`) is stored with the segment where its text starts, so a turn's segments concatenate to the
//!   decoding of that turn's ids, while one segment alone may not.
//! - `output` segments are tool output (loss mask 0): the feedback text tokenised alone, never merged with the
//!   tokens around it.
//! - Special tokens (the end-of-sequence token the model sampled) are in `ids` but contribute no text, as a server's
//!   `skip_special_tokens` does.
//! - The closing fence: generation stops on the token that completes the three closing backticks, and that token is
//!   kept as sampled. When it also carries the newline that follows (a ```` ```\n ```` token), the `code` text ends
//!   with that newline and the feedback drops its own leading newline, so the text stays byte-identical to the
//!   reference's `"```" + "\n```output\n…"`; when it carries nothing more, the feedback keeps its newline. Whatever
//!   else a closing token carries stays in the `code` text ([`feedback_after`]).
//!
//! In text mode (a server that returns no ids) the `code` text ends at the three backticks: the newline the model
//! sampled after them is part of the stop sequence and is replaced by the feedback's own leading newline, so the text
//! is byte-identical to the reference's.
//!
//! ```
//! use cir_record::{Segment, Trajectory};
//!
//! let line = r#"{"schema":1,"dataset":"toy","problem_id":"0","sample":0,"prompt":"1+1?\n","gold":"2",
//!   "segments":[{"kind":"text","text":"\\boxed{2}"}],"finish":"stop","tool_calls":0,
//!   "usage":{"prompt_tokens":3,"completion_tokens":4,"requests":1},"answer":"2",
//!   "verdict":{"equivalent":true,"reason":"equal: exact"}}"#;
//! let t: Trajectory = serde_json::from_str(&line.replace('\n', "")).unwrap();
//! assert_eq!(t.full_text(), "1+1?\n\\boxed{2}");
//! assert!(t.is_correct());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Execution;

/// The schema version written in every trajectory's `schema` field.
pub const SCHEMA_VERSION: u32 = 2;

/// Whether this build reads trajectories written with schema `version`: 2, and 1 (the same layout without token
/// fields and without `sampling.policy`).
pub fn is_readable_schema(version: u64) -> bool {
    version == 1 || version == u64::from(SCHEMA_VERSION)
}

/// One sampled solution of one problem. See the [module documentation](self) for the JSON layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// Layout version, [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Dataset name.
    pub dataset: String,
    /// Problem id within the dataset.
    pub problem_id: String,
    /// Sample index within the problem.
    pub sample: u32,
    /// The exact prompt text.
    pub prompt: String,
    /// Token mode: the prompt's token ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_ids: Option<Vec<u32>>,
    /// The gold answer as graded.
    pub gold: String,
    /// The dataset line's own metadata (`subject`, `level`, …), by field name; empty when the line had none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, MetaValue>,
    /// What followed the prompt, in order.
    pub segments: Vec<Segment>,
    /// Why the trajectory ended.
    pub finish: Finish,
    /// Code blocks executed.
    pub tool_calls: u32,
    /// Token counts reported by the server.
    #[serde(default)]
    pub usage: Usage,
    /// The extracted final answer.
    #[serde(default)]
    pub answer: Option<String>,
    /// The verifier's verdict, when graded.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Host wall-clock timings.
    #[serde(default)]
    pub timing: Timing,
    /// How it was sampled.
    #[serde(default)]
    pub sampling: Sampling,
    /// Why the sample failed, when `finish` is [`Finish::Error`].
    #[serde(default)]
    pub error: Option<String>,
}

impl Trajectory {
    /// The text the model produced after the prompt, tool feedback included.
    pub fn response_text(&self) -> String {
        self.segments.iter().map(Segment::text).collect()
    }

    /// The prompt followed by the response: the whole text as the model saw it at the end.
    pub fn full_text(&self) -> String {
        let mut text = self.prompt.clone();
        text.push_str(&self.response_text());
        text
    }

    /// True when the verdict says the answer is equivalent to the gold answer.
    pub fn is_correct(&self) -> bool {
        self.verdict.as_ref().is_some_and(|v| v.equivalent)
    }

    /// The executions of the trajectory's code blocks, in order.
    pub fn executions(&self) -> impl Iterator<Item = &Execution> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Output { execution, .. } => Some(execution),
            _ => None,
        })
    }

    /// The whole trajectory as one token sequence with its loss mask and sampling-time log-probs, when it was recorded
    /// in token mode: `None` when the prompt or a segment has no ids, or a sampled segment's log-probs do not match
    /// its ids one to one.
    pub fn token_view(&self) -> Option<TokenView> {
        let mut ids = self.prompt_ids.clone()?;
        let prompt_len = ids.len();
        let mut loss_mask = vec![0u8; prompt_len];
        let mut logprobs = vec![0.0f32; prompt_len];
        for segment in &self.segments {
            let seg_ids = segment.ids()?;
            ids.extend_from_slice(seg_ids);
            if segment.is_sampled() {
                let lp = segment.logprobs().filter(|lp| lp.len() == seg_ids.len())?;
                loss_mask.extend(std::iter::repeat_n(1, seg_ids.len()));
                logprobs.extend_from_slice(lp);
            } else {
                loss_mask.extend(std::iter::repeat_n(0, seg_ids.len()));
                logprobs.extend(std::iter::repeat_n(0.0, seg_ids.len()));
            }
        }
        Some(TokenView { ids, prompt_len, loss_mask, logprobs })
    }

    /// The key that identifies this sample in a run: dataset, problem id, sample index.
    pub fn key(&self) -> (String, String, u32) {
        (self.dataset.clone(), self.problem_id.clone(), self.sample)
    }
}

/// One value of a dataset line's metadata, as the line has it: a string, an integer, another number or a boolean.
/// Only scalars are kept: they are what a report groups by, and they keep this crate free of a JSON value type.
///
/// ```
/// use cir_record::MetaValue;
///
/// let level: MetaValue = serde_json::from_str("2").unwrap();
/// assert_eq!((level.clone(), level.to_string()), (MetaValue::Int(2), "2".to_owned()));
/// assert_eq!(serde_json::to_string(&MetaValue::Text("Algebra".into())).unwrap(), "\"Algebra\"");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetaValue {
    /// A boolean.
    Bool(bool),
    /// An integer (JSON numbers without a fraction or exponent that fit an `i64`).
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Text(String),
}

impl std::fmt::Display for MetaValue {
    /// The value as a report shows it and groups by it: a string as it is, a number or boolean as its JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaValue::Bool(b) => write!(f, "{b}"),
            MetaValue::Int(i) => write!(f, "{i}"),
            MetaValue::Float(x) => write!(f, "{x}"),
            MetaValue::Text(s) => f.write_str(s),
        }
    }
}

/// One piece of a trajectory after the prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Segment {
    /// Sampled model prose.
    Text {
        /// The text, exactly as sampled.
        text: String,
        /// Token mode: the sampled ids.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ids: Option<Vec<u32>>,
        /// Token mode: the log-probability of each id when it was sampled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logprobs: Option<Vec<f32>>,
    },
    /// A code block the model wrote (and the loop executed, unless the trajectory ended there).
    Code {
        /// The code that runs.
        code: String,
        /// The block as it stands in the trajectory, fences included.
        text: String,
        /// Token mode: the sampled ids.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ids: Option<Vec<u32>>,
        /// Token mode: the log-probability of each id when it was sampled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logprobs: Option<Vec<f32>>,
    },
    /// The result of the preceding code block and the feedback appended for it.
    Output {
        /// What the sandbox reported.
        execution: Execution,
        /// The exact text appended to the trajectory.
        feedback: String,
        /// Token mode: the feedback tokenised alone (tool output: never trained on).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ids: Option<Vec<u32>>,
    },
}

impl Segment {
    /// Sampled prose without token data (text mode).
    pub fn prose(text: impl Into<String>) -> Segment {
        Segment::Text { text: text.into(), ids: None, logprobs: None }
    }

    /// A code block without token data (text mode).
    pub fn code(code: impl Into<String>, text: impl Into<String>) -> Segment {
        Segment::Code { code: code.into(), text: text.into(), ids: None, logprobs: None }
    }

    /// An execution's feedback without token data (text mode).
    pub fn output(execution: Execution, feedback: impl Into<String>) -> Segment {
        Segment::Output { execution, feedback: feedback.into(), ids: None }
    }

    /// The text this segment contributes to the trajectory.
    pub fn text(&self) -> &str {
        match self {
            Segment::Text { text, .. } | Segment::Code { text, .. } => text,
            Segment::Output { feedback, .. } => feedback,
        }
    }

    /// True for the segments the model sampled (prose and code; loss mask 1), false for tool output.
    pub fn is_sampled(&self) -> bool {
        !matches!(self, Segment::Output { .. })
    }

    /// Token mode: this segment's ids.
    pub fn ids(&self) -> Option<&[u32]> {
        match self {
            Segment::Text { ids, .. } | Segment::Code { ids, .. } | Segment::Output { ids, .. } => ids.as_deref(),
        }
    }

    /// Token mode: the sampling-time log-probabilities of a sampled segment's ids (`None` for tool output).
    pub fn logprobs(&self) -> Option<&[f32]> {
        match self {
            Segment::Text { logprobs, .. } | Segment::Code { logprobs, .. } => logprobs.as_deref(),
            Segment::Output { .. } => None,
        }
    }
}

/// A token-exact trajectory as one sequence: what a trainer feeds the model. Built by [`Trajectory::token_view`].
#[derive(Clone, Debug, PartialEq)]
pub struct TokenView {
    /// The prompt's ids followed by every segment's ids.
    pub ids: Vec<u32>,
    /// How many of `ids` are the prompt.
    pub prompt_len: usize,
    /// Per id: 1 where the model sampled it (prose, code), 0 for the prompt and tool output.
    pub loss_mask: Vec<u8>,
    /// Per id: the log-probability recorded when it was sampled; 0 where `loss_mask` is 0.
    pub logprobs: Vec<f32>,
}

/// Why a trajectory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finish {
    /// The model stopped on its own (end of sequence).
    Stop,
    /// The token limit (`max_tokens` across all segments) was reached.
    Length,
    /// The tool budget was spent and the model's last segment still asked for a tool call, which was not executed.
    BudgetExhausted,
    /// The sample could not be completed; see the trajectory's `error`.
    Error,
}

impl Finish {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::BudgetExhausted => "budget_exhausted",
            Finish::Error => "error",
        }
    }
}

/// Token counts as the server reported them; `None` where it reported nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens of the first request (the problem prompt alone).
    pub prompt_tokens: Option<u64>,
    /// Completion tokens summed over every request of the trajectory (sampled tokens only, no tool output).
    pub completion_tokens: Option<u64>,
    /// Generation requests made.
    #[serde(default)]
    pub requests: u32,
}

/// The verifier's judgement of an answer, as records keep it: [`cir_verify::Verdict`] with its reason as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// True when the answer is equivalent to the gold answer.
    pub equivalent: bool,
    /// A short reason (`equal: exact`, `different`, `no answer found`, …).
    pub reason: String,
}

impl From<cir_verify::Verdict> for Verdict {
    fn from(v: cir_verify::Verdict) -> Verdict {
        Verdict { equivalent: v.equivalent, reason: v.reason.to_string() }
    }
}

/// Host wall-clock timings of one trajectory, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Waiting for the model server, retries included.
    pub generation_ms: f64,
    /// Running code blocks.
    pub tool_ms: f64,
    /// Extracting and verifying the answer.
    pub grading_ms: f64,
    /// The whole sample.
    pub total_ms: f64,
}

/// How a trajectory was sampled, recorded so that a run can be reproduced and resumed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Model name sent to the server.
    pub model: String,
    /// `completions` or `chat`.
    pub endpoint_kind: String,
    /// `endpoint` (an OpenAI-compatible server) or `local` (the burn model in-process); empty in schema 1.
    #[serde(default)]
    pub policy: String,
    /// Sampling temperature; 0 is greedy.
    pub temperature: f64,
    /// Nucleus sampling mass.
    pub top_p: f64,
    /// Token limit across all segments.
    pub max_tokens: u64,
    /// Seed sent to the server with every request of this sample.
    pub seed: u64,
    /// Seed of the sandbox executions.
    pub sandbox_seed: u64,
    /// Most tool calls allowed.
    pub tool_budget: u32,
    /// True when code blocks shared one interpreter.
    pub stateful: bool,
    /// The context length requests were kept within, when one was set.
    #[serde(default)]
    pub max_context: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn sample() -> Trajectory {
        let execution = Execution { stdout: "5\n".into(), ..Execution::new(Status::Ok) };
        Trajectory {
            schema: SCHEMA_VERSION,
            dataset: "toy".into(),
            problem_id: "p1".into(),
            sample: 3,
            prompt: "Add 2 and 3.\n".into(),
            prompt_ids: None,
            gold: "5".into(),
            meta: BTreeMap::new(),
            segments: vec![
                Segment::prose("Compute.\n"),
                Segment::code("print(2+3)", "```python\nprint(2+3)\n```"),
                Segment::output(execution.clone(), execution.feedback()),
                Segment::prose("So \\boxed{5}."),
            ],
            finish: Finish::Stop,
            tool_calls: 1,
            usage: Usage { prompt_tokens: Some(5), completion_tokens: Some(20), requests: 2 },
            answer: Some("5".into()),
            verdict: Some(Verdict { equivalent: true, reason: "equal: exact".into() }),
            timing: Timing::default(),
            sampling: Sampling::default(),
            error: None,
        }
    }

    #[test]
    fn full_text_concatenates_prompt_and_segments_exactly() {
        assert_eq!(
            sample().full_text(),
            "Add 2 and 3.\nCompute.\n```python\nprint(2+3)\n```\n```output\n5\n```\nSo \\boxed{5}."
        );
    }

    #[test]
    fn json_round_trip_and_tags() {
        let t = sample();
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.starts_with("{\"schema\":2,"), "{json}");
        assert!(!json.contains("\"ids\""), "text mode writes no token fields: {json}");
        assert!(!json.contains("\"meta\""), "no metadata, no field: {json}");
        assert!(json.contains("{\"kind\":\"code\",\"code\":\"print(2+3)\""), "{json}");
        assert!(json.contains("\"finish\":\"stop\""), "{json}");
        assert_eq!(serde_json::from_str::<Trajectory>(&json).unwrap(), t);
    }

    #[test]
    fn metadata_keeps_each_scalar_kind_through_json() {
        let mut t = sample();
        t.meta = BTreeMap::from([
            ("subject".to_owned(), MetaValue::Text("Algebra".into())),
            ("level".to_owned(), MetaValue::Int(-3)),
            ("weight".to_owned(), MetaValue::Float(0.5)),
            ("hard".to_owned(), MetaValue::Bool(true)),
        ]);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains(r#""meta":{"hard":true,"level":-3,"subject":"Algebra","weight":0.5}"#), "{json}");
        assert_eq!(serde_json::from_str::<Trajectory>(&json).unwrap(), t);
        let shown: Vec<String> = t.meta.values().map(ToString::to_string).collect();
        assert_eq!(shown, ["true", "-3", "Algebra", "0.5"]);
        // A value that is not a scalar is refused, not silently dropped.
        let bad = json.replace(r#""weight":0.5"#, r#""weight":[1]"#);
        assert!(serde_json::from_str::<Trajectory>(&bad).is_err());
    }

    #[test]
    fn token_view_joins_prompt_and_segments_with_the_loss_mask() {
        let mut t = sample();
        assert_eq!(t.token_view(), None, "text mode has no token view");
        t.prompt_ids = Some(vec![1, 2]);
        let lp = |n: usize| Some(vec![-0.5; n]);
        let execution = Execution { stdout: "5\n".into(), ..Execution::new(Status::Ok) };
        t.segments = vec![
            Segment::Text { text: "Compute.\n".into(), ids: Some(vec![3]), logprobs: lp(1) },
            Segment::Code {
                code: "print(2+3)".into(),
                text: "```python\nprint(2+3)\n```".into(),
                ids: Some(vec![4, 5]),
                logprobs: lp(2),
            },
            Segment::Output { feedback: execution.feedback(), execution, ids: Some(vec![6, 7, 8]) },
            Segment::Text { text: "So \\boxed{5}.".into(), ids: Some(vec![9]), logprobs: lp(1) },
        ];
        let v = t.token_view().unwrap();
        assert_eq!(v.ids, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(v.prompt_len, 2);
        assert_eq!(v.loss_mask, [0, 0, 1, 1, 1, 0, 0, 0, 1]);
        assert_eq!(v.logprobs, [0.0, 0.0, -0.5, -0.5, -0.5, 0.0, 0.0, 0.0, -0.5]);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Trajectory>(&json).unwrap(), t);
        // Log-probs that do not match the ids one to one: no view.
        if let Segment::Code { logprobs, .. } = &mut t.segments[1] {
            *logprobs = lp(1);
        }
        assert_eq!(t.token_view(), None);
    }

    #[test]
    fn schema_1_lines_still_read() {
        let line = r#"{"schema":1,"dataset":"d","problem_id":"0","sample":0,"prompt":"p","gold":"2","segments":[{"kind":"text","text":"x"},{"kind":"code","code":"1","text":"```python\n1\n```"}],"finish":"stop","tool_calls":0,"sampling":{"model":"m","endpoint_kind":"completions","temperature":1.0,"top_p":1.0,"max_tokens":5,"seed":0,"sandbox_seed":0,"tool_budget":5,"stateful":false}}"#;
        let t: Trajectory = serde_json::from_str(line).unwrap();
        assert!(is_readable_schema(u64::from(t.schema)));
        assert_eq!((t.prompt_ids, t.sampling.policy.as_str()), (None, ""));
        assert_eq!(t.segments[0], Segment::prose("x"));
        assert!(!is_readable_schema(3));
    }

    #[test]
    fn executions_and_correctness() {
        let mut t = sample();
        assert_eq!(t.executions().count(), 1);
        assert!(t.is_correct());
        t.verdict = None;
        assert!(!t.is_correct());
        assert_eq!(Finish::BudgetExhausted.as_str(), "budget_exhausted");
    }
}
