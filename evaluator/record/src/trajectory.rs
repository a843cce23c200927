//! The trajectory: one sampled solution of one problem, as `cir-eval run` writes it (one JSON object per line), and as
//! `cir-eval score`/`report`, the trainer and the browser viewer read it.
//!
//! # Schema, version 1
//!
//! | field | type | meaning |
//! | --- | --- | --- |
//! | `schema` | integer | always `1` for this layout ([`SCHEMA_VERSION`]); readers refuse other values |
//! | `dataset` | string | dataset name (the file stem, e.g. `AIME24`) |
//! | `problem_id` | string | the problem's id field, else its 0-based line number in the dataset |
//! | `sample` | integer | sample index within the problem, `0..n` |
//! | `prompt` | string | the exact prompt text: raw completion text, or the user message for chat endpoints |
//! | `gold` | string | the gold answer as graded (the last `\boxed{}` of a worked solution, else the field trimmed) |
//! | `segments` | array | what followed the prompt, in order (below); `prompt + concat(segment texts)` is the whole text |
//! | `finish` | string | `stop`, `length`, `budget_exhausted` or `error` ([`Finish`]) |
//! | `tool_calls` | integer | code blocks executed |
//! | `usage` | object | `prompt_tokens` (first request), `completion_tokens` (sum over requests), `requests`; token counts are null when the server reports none |
//! | `answer` | string or null | the extracted final answer |
//! | `verdict` | object or null | `{equivalent, reason}` from the verifier; null when grading was not run |
//! | `timing` | object | `generation_ms`, `tool_ms`, `grading_ms`, `total_ms` (host wall clock) |
//! | `sampling` | object | `model`, `endpoint_kind` (`completions`/`chat`), `temperature`, `top_p`, `max_tokens`, `seed` (sampling seed sent to the server), `sandbox_seed`, `tool_budget`, `stateful`, `max_context` |
//! | `error` | string or null | why the sample failed when `finish` is `error` (server unreachable, 4xx, malformed reply…) |
//!
//! A segment is an object tagged by `kind`:
//!
//! | kind | fields | text it contributes |
//! | --- | --- | --- |
//! | `text` | `text` | `text`: sampled model prose |
//! | `code` | `code`, `text` | `text`: the block exactly as it stands in the trajectory, `` ```python\n{code}\n``` `` (fence included); `code` is what ran |
//! | `output` | `execution` (an [`Execution`]), `feedback` | `feedback`: the exact text appended after the block (`"\n```output\n…\n```\n"`) |
//!
//! A `code` segment is followed by its `output` unless the trajectory ended there (budget spent, error). The closing
//! fence of a block ends at its three backticks: the newline the model sampled after them is part of the stop
//! sequence and is replaced by the feedback's own leading newline, so the text is byte-identical to the reference's.
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

use serde::{Deserialize, Serialize};

use crate::Execution;

/// The schema version written in every trajectory's `schema` field.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// The gold answer as graded.
    pub gold: String,
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

    /// The key that identifies this sample in a run: dataset, problem id, sample index.
    pub fn key(&self) -> (String, String, u32) {
        (self.dataset.clone(), self.problem_id.clone(), self.sample)
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
    },
    /// A code block the model wrote (and the loop executed, unless the trajectory ended there).
    Code {
        /// The code that runs.
        code: String,
        /// The block as it stands in the trajectory, fences included.
        text: String,
    },
    /// The result of the preceding code block and the feedback appended for it.
    Output {
        /// What the sandbox reported.
        execution: Execution,
        /// The exact text appended to the trajectory.
        feedback: String,
    },
}

impl Segment {
    /// The text this segment contributes to the trajectory.
    pub fn text(&self) -> &str {
        match self {
            Segment::Text { text } | Segment::Code { text, .. } => text,
            Segment::Output { feedback, .. } => feedback,
        }
    }
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

/// The verifier's judgement of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// True when the answer is equivalent to the gold answer.
    pub equivalent: bool,
    /// A short reason (`equal: exact`, `different`, `no answer found`, …).
    pub reason: String,
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
            gold: "5".into(),
            segments: vec![
                Segment::Text { text: "Compute.\n".into() },
                Segment::Code { code: "print(2+3)".into(), text: "```python\nprint(2+3)\n```".into() },
                Segment::Output { feedback: execution.feedback(), execution },
                Segment::Text { text: "So \\boxed{5}.".into() },
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
        assert!(json.starts_with("{\"schema\":1,"), "{json}");
        assert!(json.contains("{\"kind\":\"code\",\"code\":\"print(2+3)\""), "{json}");
        assert!(json.contains("\"finish\":\"stop\""), "{json}");
        assert_eq!(serde_json::from_str::<Trajectory>(&json).unwrap(), t);
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
