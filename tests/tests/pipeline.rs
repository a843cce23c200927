//! One trajectory file through every crate that reads it.

use std::sync::Mutex;

use cir_record::Trajectory;
use cir_rollout::{
    Generation, Job, Loop, Policy, PolicyError, PolicyInfo, Sampled, Schedule, Settings, Stop, Turn, Verifier,
};

/// Responses whose final answer is hard to find: several boxes, "and"-joined boxes, an answer only in prose, a
/// number inside a code block (the code's output then the prose). Each is (first turn, second turn, gold).
const TRICKY: &[(&str, &str, &str)] = &[
    ("Try \\boxed{3} first, then correct it.", "", "5"),
    ("So \\boxed{4} or rather \\boxed{5}.", "", "5"),
    ("The roots are \\boxed{2} and \\boxed{3}.", "", "2, 3"),
    ("The answer is 12.", "", "12"),
    ("```python\nprint(6 * 7)\n```", " That prints 42, so the answer is \\boxed{42}.", "42"),
    ("```python\nx = 41\nprint(x + 1)\n```", " The result is 42.", "42"),
    ("```python\nprint(1/0)\n```", " Hmm. \\boxed{\\frac{10}{2}}", "5"),
];

/// Plays TRICKY's turns, one byte per token (so ids, logprobs and ends are exact), stopping at the fence.
struct Scripted {
    turns: Mutex<Vec<usize>>,
}

impl Policy for Scripted {
    fn schedule(&self) -> Schedule {
        Schedule::Waves { max_rows: 8 }
    }
    fn info(&self) -> PolicyInfo {
        PolicyInfo { model: "scripted".into(), endpoint_kind: "completions".into(), policy: "local".into() }
    }
    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
        turns
            .iter()
            .map(|t| {
                let mut seen = self.turns.lock().unwrap();
                let turn = seen[t.sample];
                seen[t.sample] += 1;
                let (first, second, _) = TRICKY[t.sample];
                let text = if turn == 0 { first } else { second };
                let ids: Vec<u32> = text.bytes().map(u32::from).collect();
                let ends = (1..=ids.len()).collect();
                let stop = if text.ends_with("```") { Stop::Fence } else { Stop::Eos };
                Ok(Generation {
                    text: text.to_owned(),
                    stop,
                    tokens: Some(Sampled { logprobs: vec![-0.1; ids.len()], ids, ends }),
                    prompt_ids: (turn == 0).then(|| t.prompt.bytes().map(u32::from).collect()),
                    rendered_prompt: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                })
            })
            .collect()
    }
    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        Some(text.bytes().map(u32::from).collect())
    }
}

fn trajectories() -> Vec<Trajectory> {
    let sandbox = cir_runtime::Sandbox::builder().build().expect("the interpreter is prepared");
    let policy = Scripted { turns: Mutex::new(vec![0; TRICKY.len()]) };
    let jobs: Vec<Job> =
        TRICKY.iter().enumerate().map(|(i, (_, _, gold))| Job::new("tricky", &i.to_string(), 0, "Q\n", gold)).collect();
    let mut out = Vec::new();
    Loop::new(&policy, &sandbox, &Verifier::default(), &Settings::default()).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    out.sort_by_key(|t| t.problem_id.parse::<usize>().unwrap());
    out
}

#[test]
fn score_and_the_viewer_agree_on_every_verdict() {
    let ts = trajectories();
    assert_eq!(ts.iter().map(|t| t.tool_calls).collect::<Vec<_>>(), [0, 0, 0, 0, 1, 1, 1]);
    let dir = std::env::temp_dir().join(format!("cir-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tricky.jsonl");
    let text: String = ts.iter().map(|t| serde_json::to_string(t).unwrap() + "\n").collect();
    std::fs::write(&file, &text).unwrap();
    let (summary, scored) =
        cir_eval::score::score(&file, Some(&dir.join("scored.jsonl")), &Verifier::default()).unwrap();
    assert_eq!((summary.graded, summary.flipped), (TRICKY.len(), 0), "score re-grades what the loop graded");
    for (line, s) in text.lines().zip(&scored) {
        let row = cir_web::regrade(cir_web::parse_line(line).unwrap());
        assert_eq!(Some(&row.regrade), s.verdict.as_ref(), "{}", s.response_text());
        assert_eq!(row.answer, s.answer, "{}", s.response_text());
        assert!(!row.changed);
    }
    // Spot checks of the conventions: the last box counts; "and"-joined boxes are one answer; a number in prose
    // is taken when there is no box.
    let correct: Vec<bool> = scored.iter().map(Trajectory::is_correct).collect();
    assert_eq!(
        correct,
        [false, true, true, true, true, true, true],
        "{:?}",
        scored.iter().map(|t| &t.answer).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_trainer_rows_keep_ids_masks_and_rewards() {
    let ts = trajectories();
    let options = cir_trainer::rl::batch::RowOptions {
        reward_correct: 1.0,
        reward_wrong: -1.0,
        mask_tool_output: true,
        whiten_tool_tokens: true,
    };
    for t in &ts {
        let row = cir_trainer::rl::batch::row(t, &options).expect("token-exact");
        let bytes: Vec<u8> = row.ids.iter().map(|&i| u8::try_from(i).unwrap()).collect();
        assert_eq!(String::from_utf8(bytes).unwrap(), t.full_text(), "the ids are the text");
        let masked: String = row.ids[row.prompt_len..]
            .iter()
            .zip(&row.loss_mask)
            .filter(|&(_, m)| *m == 0.0)
            .map(|(&i, _)| char::from(u8::try_from(i).unwrap()))
            .collect();
        let feedback: String = t.segments.iter().filter(|s| !s.is_sampled()).map(|s| s.text()).collect();
        assert_eq!(masked, feedback, "exactly the tool output is masked");
        assert_eq!(row.reward, if t.is_correct() { 1.0 } else { -1.0 });
    }
}
