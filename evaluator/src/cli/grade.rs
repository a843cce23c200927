//! `cir-eval grade`: one pair, or a JSONL file of cases; the verifier's conventions as flags.

use std::process::ExitCode;

use cir_verify::{Options, PercentMode};

/// Command-line flags for the conventions graders disagree on; every default is [`Options::default`].
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Conventions {
    /// Compare bare lists in order (default: unordered, like sets of roots).
    #[arg(long)]
    pub ordered_lists: bool,
    /// Compare parenthesized tuples as sets (symeval's compare_sets).
    #[arg(long)]
    pub unordered_tuples: bool,
    /// How `%` is read: `lenient` (a bare 28 or 0.28 equals 28%; two percents as written; default), `unit` (28
    /// only), `scaled` (0.28 only) or `each-side` (each side's % either way, so 0.4% equals 40%: Qwen2.5-Math's
    /// include_percentage).
    #[arg(long, value_parser = PercentMode::NAMES, default_value = "lenient")]
    pub percent: String,
    /// Also accept numbers 100× apart (symeval's convention).
    #[arg(long)]
    pub percent_scaling: bool,
    /// Accept a consistent renaming of variables (Math-Verify's strict=False).
    #[arg(long)]
    pub allow_renaming: bool,
    /// Do not compare a relation prediction with a set gold (Math-Verify's allow_set_relation_comp=False).
    #[arg(long)]
    pub no_relation_vs_set: bool,
    /// Compare a decimal at the precision of the shorter of the two written (3.14 equals 3.1: FinQA-style
    /// finqa_equal). Default: two decimals are equal only when they are the same number.
    #[arg(long)]
    pub coarser_decimal_precision: bool,
    /// Relative tolerance for numbers (default: none; a decimal counts to the precision written against a value
    /// with no finite decimal form).
    #[arg(long)]
    pub rel_tol: Option<f64>,
    /// When nothing else is found, take the last integer on the last line of a response.
    #[arg(long)]
    pub lenient_last_line: bool,
}

impl Conventions {
    /// The verifier options these flags select.
    pub fn options(&self) -> Options {
        Options {
            ordered_lists: self.ordered_lists,
            unordered_tuples: self.unordered_tuples,
            percent: self.percent.parse().unwrap_or_default(),
            percent_scaling: self.percent_scaling,
            allow_renaming: self.allow_renaming,
            relation_vs_set: !self.no_relation_vs_set,
            coarser_decimal_precision: self.coarser_decimal_precision,
            relative_tolerance: self.rel_tol,
            lenient_last_line: self.lenient_last_line,
        }
    }
}

/// `grade --pred P --gold G [--json]`, or `grade --cases IN.jsonl [--out OUT.jsonl]`.
#[derive(clap::Args)]
pub struct GradeArgs {
    /// The prediction: a bare answer or a whole response.
    #[arg(long, requires = "gold", conflicts_with = "cases")]
    pred: Option<String>,
    /// The gold answer: bare or a worked solution (its last `\boxed` is the answer).
    #[arg(long, requires = "pred")]
    gold: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Grade a JSONL file of `{"pred", "gold", "expected"?}` lines; summary on stderr.
    #[arg(long, required_unless_present = "pred")]
    cases: Option<std::path::PathBuf>,
    /// With `--cases`: write each line with `verdict`, `reason` and `micros` added.
    #[arg(long, requires = "cases")]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    conventions: Conventions,
}

/// Runs `cir-eval grade`: exit 0 equivalent, 1 not (a `--cases` file: 0 once graded).
pub fn run(a: GradeArgs) -> anyhow::Result<ExitCode> {
    let opts = a.conventions.options();
    if let Some(cases) = a.cases {
        let s = cir_eval::grade::run_cases(&cases, a.out.as_deref(), &opts)?;
        for (line, why) in &s.malformed {
            eprintln!("{}:{line}: skipped: {why}", cases.display());
        }
        eprintln!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    let (pred, gold) = (a.pred.unwrap_or_default(), a.gold.unwrap_or_default());
    let (v, json) = cir_eval::grade::pair_json(&pred, &gold, &opts);
    if a.json {
        println!("{json}");
    } else {
        println!("{}", v.reason);
    }
    Ok(ExitCode::from(if v.equivalent { 0 } else { 1 }))
}
