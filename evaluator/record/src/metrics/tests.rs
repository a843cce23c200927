//! Metrics tests: small hand-made cases, and generated runs checked statistic by statistic against direct
//! computations from what the generator planned.

use super::*;
use crate::{Execution, Sampling, Segment, Usage, Verdict};

fn traj(dataset: &str, problem: &str, sample: u32, answer: Option<&str>, ok: bool) -> Trajectory {
    Trajectory {
        schema: 1,
        dataset: dataset.into(),
        problem_id: problem.into(),
        sample,
        prompt: String::new(),
        prompt_ids: None,
        gold: String::new(),
        meta: Default::default(),
        segments: Vec::new(),
        finish: Finish::Stop,
        tool_calls: 0,
        usage: Usage::default(),
        answer: answer.map(Into::into),
        verdict: Some(Verdict { equivalent: ok, reason: String::new() }),
        timing: Default::default(),
        sampling: Sampling { temperature: 1.0, ..Sampling::default() },
        error: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn binom(n: u64, k: u64) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
}

#[test]
fn pass_at_k_matches_the_binomial_formula() {
    for n in 1..=16u64 {
        for c in 0..=n {
            for k in 1..=n {
                let expected = 1.0 - binom(n - c, k) / binom(n, k);
                assert!((pass_at_k(n, c, k) - expected).abs() < 1e-9, "n={n} c={c} k={k}");
            }
        }
    }
    assert_eq!(pass_at_k(16, 1, 1), 1.0 / 16.0);
    assert_eq!(pass_at_k(4, 0, 4), 0.0);
    assert_eq!(pass_at_k(4, 1, 4), 1.0);
    assert_eq!(pass_at_k(4, 1, 5), 0.0);
    // Large n does not overflow.
    assert!(close(pass_at_k(1024, 512, 1), 0.5));
}

#[test]
fn per_dataset_avg_pass_and_overall() {
    // Problem a: 1 of 4 correct; problem b: 4 of 4; dataset y: one problem 0 of 4.
    let mut ts = Vec::new();
    for i in 0..4 {
        ts.push(traj("x", "a", i, Some(if i == 0 { "1" } else { "2" }), i == 0));
        ts.push(traj("x", "b", i, Some("7"), true));
        ts.push(traj("y", "a", i, None, false));
    }
    let m = Metrics::compute(&ts, &|a, b| a == b);
    let x = &m.datasets[0];
    assert_eq!((x.dataset.as_str(), x.problems, x.samples, x.n), ("x", 2, 8, 4));
    assert!(close(x.avg, 5.0 / 8.0));
    let p: Vec<f64> = x.pass_at_k.iter().map(|a| a.value).collect();
    assert!(close(p[0], (0.25 + 1.0) / 2.0));
    assert!(close(p[1], (0.5 + 1.0) / 2.0));
    assert!(close(p[3], 1.0));
    // maj@k on problem a: k=1 takes sample 0 ("1", right); k=2 is a tie that the first group ("1") wins; at k=3
    // and 4 "2" (wrong) has more votes.
    let maj: Vec<(u32, f64)> = x.maj_at_k.iter().map(|a| (a.k, a.value)).collect();
    assert_eq!(maj, vec![(1, 1.0), (2, 1.0), (3, 0.5), (4, 0.5)]);
    assert_eq!(m.datasets[1].avg, 0.0);
    assert_eq!(m.overall.problems, 3);
    assert!(close(m.overall.avg, 5.0 / 12.0));
    assert!(close(m.macro_avg, 5.0 / 16.0));
    assert_eq!(x.greedy_accuracy, None);
}

#[test]
fn majority_groups_equivalent_answers_and_skips_missing() {
    // "1/2" and "0.5" are one group under the given equivalence: 2 votes beat "3" once; missing answers don't vote.
    let ts = vec![
        traj("d", "p", 0, Some("3"), false),
        traj("d", "p", 1, Some("1/2"), true),
        traj("d", "p", 2, Some("0.5"), true),
        traj("d", "p", 3, None, false),
    ];
    let eq = |a: &str, b: &str| matches!((a, b), ("1/2", "0.5") | ("0.5", "1/2"));
    let m = Metrics::compute(&ts, &eq);
    assert_eq!(m.overall.maj_at_k.last().map(|a| a.value), Some(1.0));
    let plain = Metrics::compute(&ts, &|a, b| a == b);
    // Without grouping every answer has one vote and the first ("3", wrong) wins the tie.
    assert_eq!(plain.overall.maj_at_k.last().map(|a| a.value), Some(0.0));
}

#[test]
fn tool_stats_and_greedy() {
    let mut a = traj("d", "p", 0, Some("1"), true);
    a.tool_calls = 2;
    let e = Execution::new(Status::Ok);
    let t = Execution::new(Status::Timeout);
    a.segments = vec![Segment::output(e.clone(), e.feedback()), Segment::output(t.clone(), t.feedback())];
    a.usage.completion_tokens = Some(100);
    a.sampling.temperature = 0.0;
    let mut b = traj("d", "q", 0, None, false);
    b.finish = Finish::BudgetExhausted;
    b.tool_calls = 0;
    let mut c = traj("d", "r", 0, None, false);
    c.finish = Finish::Error;
    let m = Metrics::compute(&[a, b, c], &|x, y| x == y);
    let tools = &m.overall.tools;
    assert_eq!(tools.calls_histogram, vec![2, 0, 1]);
    assert!(close(tools.mean_calls, 2.0 / 3.0));
    assert_eq!(tools.executions, 2);
    assert_eq!((tools.execution_error_rate, tools.execution_timeout_rate), (0.0, 0.5));
    assert_eq!((tools.accuracy_with_code, tools.accuracy_without_code), (Some(1.0), Some(0.0)));
    assert!(close(tools.budget_exhausted_rate, 1.0 / 3.0));
    assert!(close(tools.error_rate, 1.0 / 3.0));
    assert_eq!(tools.mean_completion_tokens, Some(100.0));
    assert_eq!(m.overall.greedy_accuracy, Some(1.0));
}

#[test]
fn duplicates_count_once_and_empty_input_is_zero() {
    let ts = vec![traj("d", "p", 0, Some("1"), false), traj("d", "p", 0, Some("1"), true)];
    let m = Metrics::compute(&ts, &|a, b| a == b);
    assert_eq!((m.overall.samples, m.overall.avg), (1, 1.0));
    let empty = Metrics::compute(&[], &|a, b| a == b);
    assert_eq!((empty.overall.samples, empty.overall.n, empty.macro_avg), (0, 0, 0.0));
    assert!(empty.overall.pass_at_k.is_empty() && empty.overall.maj_at_k.is_empty());
}

// ---- generated runs ------------------------------------------------------------------------------------------------

/// How one executed block ended, as the generator planned it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Ok,
    OutputLimit,
    Syntax,
    Name,
    Timeout,
    Other,
}

impl Outcome {
    const ALL: [Outcome; 6] =
        [Outcome::Ok, Outcome::OutputLimit, Outcome::Syntax, Outcome::Name, Outcome::Timeout, Outcome::Other];

    fn is_error(self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::OutputLimit)
    }

    fn kind(self) -> Option<crate::ErrorKind> {
        use crate::ErrorKind;
        match self {
            Outcome::Ok | Outcome::OutputLimit => None,
            Outcome::Syntax => Some(ErrorKind::Syntax),
            Outcome::Name => Some(ErrorKind::Name),
            Outcome::Timeout => Some(ErrorKind::Timeout),
            Outcome::Other => Some(ErrorKind::Other),
        }
    }

    fn execution(self, rng: &mut Rng) -> Execution {
        let (status, error) = match self {
            Outcome::Ok => (Status::Ok, None),
            Outcome::OutputLimit => (Status::OutputLimit, Some("output limit of 1 MiB reached")),
            Outcome::Syntax => (
                Status::Error,
                Some(["SyntaxError: invalid syntax", "IndentationError: unexpected indent"][rng.below(2)]),
            ),
            Outcome::Name => (Status::Error, Some("NameError: name 'x' is not defined")),
            Outcome::Timeout => (Status::Timeout, None),
            Outcome::Other => [
                (Status::Error, Some("ZeroDivisionError: division by zero")),
                (Status::MemoryLimit, Some("MemoryError")),
                (Status::FuelExhausted, None),
            ][rng.below(3)],
        };
        Execution { stdout: "1\n".into(), error: error.map(Into::into), ..Execution::new(status) }
    }
}

/// What the generator decided for one sample; the direct computations read this, never the trajectory.
#[derive(Clone, Debug)]
struct Plan {
    dataset: &'static str,
    problem: String,
    sample: u32,
    subject: Option<&'static str>,
    level: i64,
    blocks: Vec<Outcome>,
    /// A last code block written and left unexecuted (budget spent).
    unexecuted: bool,
    answer: Option<&'static str>,
    failed: bool,
    tokens: Option<u64>,
}

impl Plan {
    fn correct(&self) -> bool {
        !self.failed && self.answer == Some(GOLD)
    }

    fn trajectory(&self, rng: &mut Rng) -> Trajectory {
        let mut t = traj(self.dataset, &self.problem, self.sample, self.answer, self.correct());
        t.gold = GOLD.into();
        if let Some(subject) = self.subject {
            t.meta.insert("subject".into(), crate::MetaValue::Text(subject.into()));
        }
        t.meta.insert("level".into(), crate::MetaValue::Int(self.level));
        for outcome in &self.blocks {
            t.segments.push(Segment::prose("Let me compute.\n"));
            t.segments.push(Segment::code("print(1)", "```python\nprint(1)\n```"));
            let e = outcome.execution(rng);
            t.segments.push(Segment::output(e.clone(), e.feedback()));
        }
        if self.unexecuted {
            t.segments.push(Segment::code("print(2)", "```python\nprint(2)\n```"));
            t.finish = Finish::BudgetExhausted;
        }
        t.tool_calls = self.blocks.len() as u32;
        t.usage.completion_tokens = self.tokens;
        if self.failed {
            t.finish = Finish::Error;
            t.verdict = None;
            t.answer = None;
        }
        t
    }
}

const GOLD: &str = "2";
const SUBJECTS: [&str; 3] = ["Algebra", "Geometry", "Number Theory"];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A run: two datasets, `problems` problems each with `n` samples (a few with one more), every kind of block outcome.
fn generate(seed: u64, problems: usize, n: u32) -> (Vec<Plan>, Vec<Trajectory>) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut plans = Vec::new();
    for dataset in ["MATH", "AIME"] {
        for p in 0..problems {
            let subject = (p % 5 != 4).then(|| SUBJECTS[p % 3]);
            let level = (p % 4) as i64 + 1;
            let samples = if p % 3 == 1 { n + 1 } else { n };
            let skill = rng.below(100);
            for sample in 0..samples {
                let calls = rng.below(4);
                let blocks = (0..calls).map(|_| Outcome::ALL[rng.below(6)]).collect();
                let answer =
                    (!rng.chance(15)).then(|| if rng.below(100) < skill { GOLD } else { ["1", "3"][rng.below(2)] });
                plans.push(Plan {
                    dataset,
                    problem: format!("p{p}"),
                    sample,
                    subject,
                    level,
                    blocks,
                    unexecuted: rng.chance(10),
                    answer,
                    failed: rng.chance(5),
                    tokens: (!rng.chance(10)).then(|| rng.below(3000) as u64),
                });
            }
        }
    }
    let trajectories = plans.iter().map(|p| p.trajectory(&mut rng)).collect();
    (plans, trajectories)
}

fn exact(a: &str, b: &str) -> bool {
    a == b
}

fn mean_f(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-9, "{what}: {got} != {want}");
}

fn assert_close_opt(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => assert_close(g, w, what),
        _ => assert_eq!(got, want, "{what}"),
    }
}

/// The statistics of a set of plans computed directly, the way a reader of the paper would by hand.
fn check_group(d: &DatasetMetrics, plans: &[&Plan], what: &str) {
    let correct = |p: &&Plan| f64::from(u8::from(p.correct()));
    assert_eq!(d.samples, plans.len(), "{what}: samples");
    let mut problems: BTreeMap<(&str, &str), Vec<&Plan>> = BTreeMap::new();
    for p in plans {
        problems.entry((p.dataset, &p.problem)).or_default().push(p);
    }
    for samples in problems.values_mut() {
        samples.sort_by_key(|p| p.sample);
    }
    assert_eq!(d.problems, problems.len(), "{what}: problems");
    let n = problems.values().map(Vec::len).min().unwrap_or(0);
    assert_eq!(d.n as usize, n, "{what}: n");
    assert_close(d.avg, mean_f(&plans.iter().map(correct).collect::<Vec<_>>()).unwrap_or(0.0), &format!("{what}: avg"));
    for k in 1..=n {
        let pass: Vec<f64> = problems
            .values()
            .map(|s| {
                let (total, c) = (s.len() as u64, s.iter().filter(|p| p.correct()).count() as u64);
                1.0 - binom(total - c, k as u64) / binom(total, k as u64)
            })
            .collect();
        assert_close(d.pass_at(k as u32).unwrap(), mean_f(&pass).unwrap(), &format!("{what}: pass@{k}"));
        // Majority: the most frequent answer among the first k samples that have one; ties to the one seen first.
        let maj: Vec<f64> = problems
            .values()
            .map(|s| {
                let answers: Vec<&str> = s[..k].iter().filter(|p| !p.failed).filter_map(|p| p.answer).collect();
                let count = |a: &str| answers.iter().filter(|x| **x == a).count();
                let winner = answers.iter().copied().fold(None::<&str>, |best, a| match best {
                    Some(b) if count(b) >= count(a) => Some(b),
                    _ => Some(a),
                });
                f64::from(u8::from(winner == Some(GOLD)))
            })
            .collect();
        assert_close(d.maj_at(k as u32).unwrap(), mean_f(&maj).unwrap(), &format!("{what}: maj@{k}"));
    }
    assert_eq!(d.pass_at(n as u32 + 1), None, "{what}: no pass@k past n");
    // Tools and lengths.
    let with_code: Vec<&&Plan> = plans.iter().filter(|p| !p.blocks.is_empty()).collect();
    assert_close(d.tools.tool_use_rate, with_code.len() as f64 / plans.len() as f64, &format!("{what}: code share"));
    let calls: Vec<f64> = plans.iter().map(|p| p.blocks.len() as f64).collect();
    assert_close(d.tools.mean_calls, mean_f(&calls).unwrap(), &format!("{what}: calls"));
    let tokens: Vec<f64> = plans.iter().filter_map(|p| p.tokens).map(|t| t as f64).collect();
    assert_close_opt(d.tools.mean_completion_tokens, mean_f(&tokens), &format!("{what}: tokens"));
    // Error feedback, from the plan: the first error block, the block after it.
    let f = &d.error_feedback;
    let clean: Vec<f64> =
        plans.iter().filter(|p| !p.blocks.is_empty() && !p.blocks.iter().any(|b| b.is_error())).map(correct).collect();
    assert_eq!(f.clean, clean.len(), "{what}: clean");
    assert_close_opt(f.clean_accuracy, mean_f(&clean), &format!("{what}: clean accuracy"));
    let first = |p: &Plan| p.blocks.iter().position(|b| b.is_error());
    for group in std::iter::once(&f.errored).chain(&f.by_kind) {
        let members: Vec<&&Plan> = plans
            .iter()
            .filter(|p| first(p).is_some_and(|i| group.kind.is_none_or(|k| p.blocks[i].kind() == Some(k))))
            .collect();
        let what = format!("{what}: error feedback {:?}", group.kind);
        assert_eq!(group.trajectories, members.len(), "{what}");
        if members.is_empty() {
            assert_eq!((group.revised, group.recovered, group.accuracy), (0.0, 0.0, None), "{what}");
            continue;
        }
        let share = |pred: &dyn Fn(&Plan, usize) -> bool| {
            members.iter().filter(|p| pred(p, first(p).unwrap())).count() as f64 / members.len() as f64
        };
        assert_close(group.share, members.len() as f64 / plans.len() as f64, &what);
        assert_close(group.revised, share(&|p, i| i + 1 < p.blocks.len() || p.unexecuted), &what);
        assert_close(group.recovered, share(&|p, i| p.blocks.get(i + 1) == Some(&Outcome::Ok)), &what);
        let accuracy: Vec<f64> = members.iter().map(|p| correct(p)).collect();
        assert_close_opt(group.accuracy, mean_f(&accuracy), &what);
    }
    assert_eq!(f.by_kind.iter().map(|g| g.trajectories).sum::<usize>(), f.errored.trajectories, "{what}");
}

#[test]
fn generated_runs_match_direct_computations_overall_per_dataset_and_per_field() {
    for seed in 1..=6 {
        let (plans, trajectories) = generate(seed, 9, 4);
        let m = Metrics::compute_by(&trajectories, &["subject", "level", "dataset"], &exact);
        let all: Vec<&Plan> = plans.iter().collect();
        check_group(&m.overall, &all, &format!("seed {seed} overall"));
        for d in &m.datasets {
            let of: Vec<&Plan> = plans.iter().filter(|p| p.dataset == d.dataset).collect();
            check_group(d, &of, &format!("seed {seed} {}", d.dataset));
        }
        let [subject, level, dataset] = &m.by[..] else { panic!("three breakdowns") };
        assert_eq!(subject.field, "subject");
        let names: Vec<&str> = subject.groups.iter().map(|g| g.dataset.as_str()).collect();
        assert_eq!(names, ["Algebra", "Geometry", "Number Theory", MISSING]);
        for g in &subject.groups {
            let of: Vec<&Plan> = plans.iter().filter(|p| p.subject.unwrap_or(MISSING) == g.dataset).collect();
            check_group(g, &of, &format!("seed {seed} subject {}", g.dataset));
        }
        let names: Vec<&str> = level.groups.iter().map(|g| g.dataset.as_str()).collect();
        assert_eq!(names, ["1", "2", "3", "4"]);
        for g in &level.groups {
            let of: Vec<&Plan> = plans.iter().filter(|p| p.level.to_string() == g.dataset).collect();
            check_group(g, &of, &format!("seed {seed} level {}", g.dataset));
        }
        assert_eq!(dataset.groups.iter().map(|g| &g.dataset).collect::<Vec<_>>(), ["AIME", "MATH"]);
        for (g, d) in dataset.groups.iter().zip(&m.datasets) {
            assert_eq!((&g.dataset, g.avg, &g.pass_at_k), (&d.dataset, d.avg, &d.pass_at_k));
        }
    }
}

#[test]
fn a_retried_sample_counts_once_in_every_statistic() {
    let (plans, trajectories) = generate(7, 6, 3);
    // The same run with every trajectory preceded by a stale copy (another answer, no tokens, no code).
    let mut doubled = Vec::new();
    for t in &trajectories {
        let mut stale = t.clone();
        stale.answer = Some("stale".into());
        stale.verdict = Some(Verdict { equivalent: !t.is_correct(), reason: String::new() });
        (stale.segments, stale.tool_calls, stale.usage.completion_tokens) = (Vec::new(), 0, None);
        stale.meta.insert("subject".into(), crate::MetaValue::Text("stale".into()));
        doubled.extend([stale, t.clone()]);
    }
    let fields = ["subject"];
    assert_eq!(Metrics::compute_by(&doubled, &fields, &exact), Metrics::compute_by(&trajectories, &fields, &exact));
    let all: Vec<&Plan> = plans.iter().collect();
    check_group(&Metrics::compute(&doubled, &exact).overall, &all, "doubled");
    let lengths = |ts: &[Trajectory]| LengthHistogram::compute([("r".to_owned(), ts.iter().collect())], 20);
    assert_eq!(lengths(&doubled), lengths(&trajectories));
}

#[test]
fn comparison_columns_are_each_runs_metrics_and_deltas_subtract_the_first() {
    let (_, base) = generate(11, 8, 4);
    let (_, tools) = generate(12, 8, 2);
    let runs = [("base", &base[..]), ("tools", &tools[..])];
    let c = Comparison::compute(&runs, &["subject"], &[], &exact);
    assert_eq!((c.runs.clone(), c.ks.clone()), (vec!["base".to_owned(), "tools".to_owned()], vec![1, 2]));
    let a = Metrics::compute_by(&base, &["subject"], &exact);
    let b = Metrics::compute_by(&tools, &["subject"], &exact);
    assert_eq!(c.metrics, [a.clone(), b.clone()]);
    let expect = |table: &Table, columns: [Option<&DatasetMetrics>; 2]| {
        let names: Vec<&str> = table.stats.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "problems",
                "samples",
                "accuracy",
                "pass@1",
                "pass@2",
                "maj@1",
                "maj@2",
                "response_tokens",
                "tool_calls",
                "code_share"
            ]
        );
        for stat in &table.stats {
            let value = |d: Option<&DatasetMetrics>| {
                let d = d?;
                match stat.name.as_str() {
                    "problems" => Some(d.problems as f64),
                    "samples" => Some(d.samples as f64),
                    "accuracy" => Some(d.avg),
                    "response_tokens" => d.tools.mean_completion_tokens,
                    "tool_calls" => Some(d.tools.mean_calls),
                    "code_share" => Some(d.tools.tool_use_rate),
                    name => {
                        let (metric, k) = name.split_once('@').unwrap();
                        let k: u32 = k.parse().unwrap();
                        if metric == "pass" { d.pass_at(k) } else { d.maj_at(k) }
                    }
                }
            };
            let values = [value(columns[0]), value(columns[1])];
            assert_eq!(stat.values, values, "{} {}", table.group, stat.name);
            let delta = match (stat.kind, values) {
                (StatKind::Count, _) => None,
                (_, [Some(x), Some(y)]) => Some(y - x),
                _ => None,
            };
            assert_eq!(stat.deltas, [None, delta], "{} {}", table.group, stat.name);
        }
    };
    expect(&c.overall, [Some(&a.overall), Some(&b.overall)]);
    let groups: Vec<&str> = c.by[0].tables.iter().map(|t| t.group.as_str()).collect();
    assert_eq!(groups, ["Algebra", "Geometry", "Number Theory", MISSING]);
    for t in &c.by[0].tables {
        let find = |m: &Metrics| m.by[0].groups.iter().position(|g| g.dataset == t.group);
        expect(t, [find(&a).map(|i| &a.by[0].groups[i]), find(&b).map(|i| &b.by[0].groups[i])]);
    }
    // A k past a run's n has no value there; a group one run lacks has none either.
    let c = Comparison::compute(&runs, &["dataset"], &[4, 1, 4, 0], &exact);
    assert_eq!(c.ks, [1, 4]);
    let pass4 = c.overall.stats.iter().find(|s| s.name == "pass@4").unwrap();
    assert_eq!((pass4.values[0].is_some(), pass4.values[1], pass4.deltas[1]), (true, None, None));
    let only_base = Comparison::compute(&[("base", &base[..]), ("none", &[][..])], &["subject"], &[1], &exact);
    let algebra = &only_base.by[0].tables[0];
    assert!(algebra.stats.iter().all(|s| s.values[1].is_none() && s.deltas[1].is_none()), "{algebra:?}");
}

#[test]
fn length_histograms_share_nice_bins_and_count_every_length_once() {
    let (plans_a, a) = generate(21, 8, 4);
    let (plans_b, b) = generate(22, 8, 4);
    for max_bins in [1, 7, 20, 64] {
        let h = LengthHistogram::compute(
            [("a".to_owned(), a.iter().collect()), ("b".to_owned(), b.iter().collect())],
            max_bins,
        );
        let longest = plans_a.iter().chain(&plans_b).filter_map(|p| p.tokens).max().unwrap();
        // The width: 1, 2 or 5 × 10^e, the smallest that fits the longest response in max_bins bins.
        let nice: Vec<u64> = (0..6).flat_map(|e| [1, 2, 5].map(|s| s * 10u64.pow(e))).collect();
        let fits = |w: u64| (longest / w) < max_bins as u64;
        assert_eq!(h.bin_width, *nice.iter().find(|w| fits(**w)).unwrap(), "max_bins {max_bins}");
        assert_eq!(h.bins as u64, longest / h.bin_width + 1);
        for (series, plans) in h.series.iter().zip([&plans_a, &plans_b]) {
            let lengths: Vec<u64> = plans.iter().filter_map(|p| p.tokens).collect();
            assert_eq!((series.counted, series.unreported), (lengths.len(), plans.len() - lengths.len()));
            for (i, count) in series.counts.iter().enumerate() {
                let (lo, hi) = (i as u64 * h.bin_width, (i as u64 + 1) * h.bin_width);
                assert_eq!(*count, lengths.iter().filter(|l| (lo..hi).contains(l)).count() as u64, "bin {i}");
            }
            let mut sorted = lengths.clone();
            sorted.sort_unstable();
            let median = if sorted.len() % 2 == 1 {
                sorted[sorted.len() / 2] as f64
            } else {
                (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) as f64 / 2.0
            };
            assert_eq!(series.median, Some(median));
            assert_close_opt(series.mean, mean_f(&lengths.iter().map(|l| *l as f64).collect::<Vec<_>>()), "mean");
        }
    }
    let none = LengthHistogram::compute([("empty".to_owned(), Vec::new())], 20);
    assert_eq!((none.bins, none.series[0].counted, none.series[0].median), (0, 0, None));
}

#[test]
fn meta_fields_and_group_values() {
    let (_, ts) = generate(3, 5, 1);
    assert_eq!(meta_fields(&ts), ["level", "subject"]);
    assert_eq!(group_value(&ts[0], "dataset").as_deref(), Some("MATH"));
    assert_eq!(group_value(&ts[0], "level").as_deref(), Some("1"));
    assert_eq!(group_value(&ts[0], "nope"), None);
    let mut values = vec!["10", MISSING, "b", "2", "a", "1.5"];
    values.sort_by(|a, b| groups::order(a, b));
    assert_eq!(values, ["1.5", "2", "10", "a", "b", MISSING]);
}
