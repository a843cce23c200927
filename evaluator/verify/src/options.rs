//! Options for the conventions graders disagree on.

/// How a percent sign is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PercentMode {
    /// Default: a bare number equals a percent read either way (`28` and `0.28` both equal `28\%`: the sign as a
    /// unit or as its value); two percents are compared as written (`0.4\%` is not `40\%`).
    #[default]
    Lenient,
    /// `%` is a unit and dropped: `28\%` equals 28 only.
    Unit,
    /// `%` means /100: `28\%` equals 0.28 only.
    Scaled,
    /// Each side's `%` is read either way independently of the other's, so `0.4\%` equals `40\%` (0.4 = 40/100).
    /// This was cir-verify's `Lenient` before issue 17; it copies the leniency of Qwen2.5-Math's `math_equal` with
    /// `include_percentage=True` (also in NeMo-Skills), which drops `%` as /100 and accepts the prediction at the
    /// reference ÷100, ×1 or ×100. Admits false accepts: use it only to reproduce those graders.
    EachSide,
}

impl PercentMode {
    /// Every mode's name, as flags and option strings spell it.
    pub const NAMES: [&'static str; 4] = ["lenient", "unit", "scaled", "each-side"];

    /// The mode's name (`each-side`).
    pub fn as_str(self) -> &'static str {
        match self {
            PercentMode::Lenient => "lenient",
            PercentMode::Unit => "unit",
            PercentMode::Scaled => "scaled",
            PercentMode::EachSide => "each-side",
        }
    }
}

impl std::str::FromStr for PercentMode {
    type Err = String;

    /// One of [`PercentMode::NAMES`]; anything else is an error that lists them.
    fn from_str(s: &str) -> Result<Self, String> {
        [PercentMode::Lenient, PercentMode::Unit, PercentMode::Scaled, PercentMode::EachSide]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("percent mode {s:?}: use one of {}", PercentMode::NAMES.join(", ")))
    }
}

/// Conventions of a comparison. `Options::default()` is mathematically exact equivalence with the conventions of
/// `../shared/verifier-cases/README.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Compare bare lists (`1, 2, 3`) and sets in order. Default `false`: lists of answers are unordered
    /// (tuples, points, intervals and vectors are always ordered).
    pub ordered_lists: bool,
    /// Compare parenthesized tuples as sets: `(2, 1)` = `(1, 2)` (symeval's `compare_sets`). Default `false`:
    /// tuples and points are ordered.
    pub unordered_tuples: bool,
    /// How `%` is read. Default [`PercentMode::Lenient`].
    pub percent: PercentMode,
    /// Also accept a number 100× or 1/100× the other (symeval's percentage convention). Default `false`.
    pub percent_scaling: bool,
    /// Accept a consistent renaming of variables (`f(y)` for `f(x)`, Math-Verify's `strict=False`). Default `false`.
    pub allow_renaming: bool,
    /// Compare a relation prediction (`-2 \le x \le 7`) with a set or interval gold (`[-2, 7]`). Default `true`
    /// (they are the same set); `false` reproduces Math-Verify's `allow_set_relation_comp=False`.
    pub relation_vs_set: bool,
    /// Compare a decimal with any number at the precision of the decimal written with fewer places: `3.14` = `3.1`,
    /// `1.2500125` = `1.25`, `0.3` = 1/4. This was cir-verify's rule before issue 17; it copies `finqa_equal`, the numeric check of
    /// FinQA-style evaluation scripts (CRITIC's among them), which rounds both numbers to the smaller count of
    /// decimals written. Default `false`: two decimals are equal only when they are the same number (`2.50` =
    /// `2.5`), and the written precision counts only against a value with no finite decimal form (`0.3333` = 1/3).
    /// Admits false accepts: use it only to reproduce that grader.
    pub coarser_decimal_precision: bool,
    /// Relative tolerance for numbers, e.g. `Some(1e-4)` for the Qwen2.5-Math grader. Default `None`: exact
    /// values must be equal, and a decimal equals a value with no finite decimal form only to the precision it was
    /// written with.
    pub relative_tolerance: Option<f64>,
    /// When nothing else is found, take the last integer on the last line of a response (the reference
    /// implementation's lenient rule). Default `false`.
    pub lenient_last_line: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ordered_lists: false,
            unordered_tuples: false,
            percent: PercentMode::Lenient,
            percent_scaling: false,
            allow_renaming: false,
            relation_vs_set: true,
            coarser_decimal_precision: false,
            relative_tolerance: None,
            lenient_last_line: false,
        }
    }
}
