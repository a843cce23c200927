//! The model side of the loop: a batched [`Policy`] continues live contexts until a closed code block, the end of
//! the sequence, a stop string or its token limit.

use crate::PolicyError;

/// One context to continue.
#[derive(Clone, Debug)]
pub struct Turn<'a> {
    /// The sample's index among the jobs of this run: stable for the sample's whole life, so a policy may keep
    /// state per sample (a KV cache) between its turns; [`Policy::release`] ends it.
    pub sample: usize,
    /// The prompt text, as the template rendered it (for a chat policy: the user message).
    pub prompt: &'a str,
    /// Everything after the prompt so far (model text and tool feedback).
    pub response: &'a str,
    /// Token mode, after the first turn: the exact ids of prompt and response so far. A token policy continues these
    /// ids and never re-tokenises `prompt` or `response`.
    pub context_ids: Option<&'a [u32]>,
    /// Most new tokens in this turn.
    pub max_tokens: u64,
    /// Sampling temperature; 0 is greedy.
    pub temperature: f64,
    /// Nucleus mass in (0, 1].
    pub top_p: f64,
    /// The sample's seed (the same for each of its turns).
    pub seed: u64,
    /// Stop right after the token that closes a tool-call block ([`crate::find_block`]); false once the tool budget
    /// is spent.
    pub stop_at_code: bool,
}

/// Why a turn ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model ended the sequence (an end-of-sequence token, a stop token).
    Eos,
    /// The policy stopped on the token that closed a tool-call block.
    Fence,
    /// A stop string matched (OpenAI semantics: in text mode the returned text ends before it).
    StopString(String),
    /// The turn's token limit.
    Length,
    /// The server said `stop` without saying why (no `stop_reason`): end of sequence or a stop string.
    Unreported,
}

/// The sampled tokens of a turn, as drawn.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Sampled {
    /// The ids, in order.
    pub ids: Vec<u32>,
    /// The log-probability of each id under the model when it was drawn (temperature 1, before filtering).
    pub logprobs: Vec<f32>,
    /// Where each id's text ends in [`Generation::text`] (byte offsets, non-decreasing, the last one the text's
    /// length): how the loop splits a turn's ids between its prose and its code block.
    pub ends: Vec<usize>,
}

/// What a policy returns for one [`Turn`].
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The generated text. With [`Generation::tokens`], exactly the text of those tokens (special tokens contribute
    /// none, a matched stop string is included); without, the text as a server returned it (a matched stop string
    /// removed, as OpenAI does).
    pub text: String,
    /// Why the turn ended.
    pub stop: Stop,
    /// Token mode: the sampled ids, their log-probs and text ends.
    pub tokens: Option<Sampled>,
    /// First turn, token mode: the prompt's ids as the model read them.
    pub prompt_ids: Option<Vec<u32>>,
    /// First turn: the prompt as the model saw it when the policy rendered it (a chat template), to be recorded
    /// instead of [`Turn::prompt`].
    pub rendered_prompt: Option<String>,
    /// The prompt's token count, when known.
    pub prompt_tokens: Option<u64>,
    /// The turn's completion token count, when known.
    pub completion_tokens: Option<u64>,
}

impl Generation {
    /// A text-mode generation with no usage counts.
    pub fn text(text: impl Into<String>, stop: Stop) -> Generation {
        Generation {
            text: text.into(),
            stop,
            tokens: None,
            prompt_ids: None,
            rendered_prompt: None,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }
}

/// How the loop feeds a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Each sample on its own, up to `concurrency` turns in flight at once (an HTTP server batches them itself).
    Independent {
        /// Samples in flight.
        concurrency: usize,
    },
    /// In waves: every sample waiting for the model goes into one call (up to `max_rows` per call), then the code
    /// blocks of the wave run in parallel, then the next wave. The composition of each call is a function of the jobs
    /// alone, never of timing, so a seeded run is reproducible.
    Waves {
        /// Most rows per call.
        max_rows: usize,
    },
}

/// What a policy tells the records about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyInfo {
    /// The model's name (recorded in every trajectory).
    pub model: String,
    /// `completions` or `chat`.
    pub endpoint_kind: String,
    /// `endpoint` (an OpenAI-compatible server) or `local` (a model in-process).
    pub policy: String,
}

/// A batched model: continues each [`Turn`] until a closed code block (when asked), the end of the sequence, a stop
/// string or the turn's token limit.
pub trait Policy: Sync {
    /// How the loop should feed it.
    fn schedule(&self) -> Schedule;
    /// What the trajectories record about the policy.
    fn info(&self) -> PolicyInfo;
    /// Continues every turn; one result per turn, in order. A failed row fails only its sample.
    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>>;
    /// Token policies: `text` tokenised alone (tool feedback), the ids that will follow the sampled ones. `None` for
    /// text policies.
    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        let _ = text;
        None
    }
    /// The sample `sample` is finished: drop any state kept for it.
    fn release(&self, sample: usize) {
        let _ = sample;
    }
}

/// A policy that adds up the wall time of its [`Policy::generate`] calls: the generation share of a run, the rest
/// being code execution, grading and the loop.
pub struct Timed<'a, P: Policy + ?Sized> {
    inner: &'a P,
    seconds: std::sync::Mutex<f64>,
}

impl<'a, P: Policy + ?Sized> Timed<'a, P> {
    /// `inner`, timed from zero.
    pub fn new(inner: &'a P) -> Self {
        Timed { inner, seconds: std::sync::Mutex::new(0.0) }
    }

    /// Seconds spent in `generate` so far.
    pub fn seconds(&self) -> f64 {
        *self.seconds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<P: Policy + ?Sized> Policy for Timed<'_, P> {
    fn schedule(&self) -> Schedule {
        self.inner.schedule()
    }
    fn info(&self) -> PolicyInfo {
        self.inner.info()
    }
    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        let start = std::time::Instant::now();
        let out = self.inner.generate(turns);
        *self.seconds.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += start.elapsed().as_secs_f64();
        out
    }
    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        self.inner.tokenize(text)
    }
    fn release(&self, sample: usize) {
        self.inner.release(sample);
    }
}
