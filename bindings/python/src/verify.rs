//! The verifier: `verify`, `extract_answer`, `verify_batch` and the `Verdict` they return.

use cir_verify::{Options, PercentMode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;

/// Maps keyword arguments to `cir_verify::Options` fields of the same name. Adding an option is one name in the
/// list below (the field's type says how its value is read, see [`OptionValue`]).
macro_rules! options {
    ($($name:ident),* $(,)?) => {
        /// The option names, in `cir_verify::Options`' order.
        pub(crate) const OPTION_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// `Options` with the given keyword arguments set; unknown names are a `TypeError` naming the valid ones.
        fn options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
            let mut options = Options::default();
            for (key, value) in kwargs.into_iter().flatten() {
                let key: PyBackedStr = key.extract()?;
                match &*key {
                    $(stringify!($name) => options.$name = OptionValue::read(&value, stringify!($name))?,)*
                    other => {
                        return Err(PyTypeError::new_err(format!(
                            "unknown verifier option {other:?}; the options are: {}",
                            OPTION_NAMES.join(", ")
                        )));
                    }
                }
            }
            Ok(options)
        }
    };
}

options!(
    ordered_lists,
    unordered_tuples,
    percent,
    percent_scaling,
    allow_renaming,
    relation_vs_set,
    coarser_decimal_precision,
    relative_tolerance,
    lenient_last_line,
);

/// How a Python value becomes an option field of this type.
trait OptionValue: Sized {
    fn read(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Self>;
}

impl OptionValue for bool {
    /// Only `True` and `False`: `1` or `"yes"` are more likely mistakes than intentions.
    fn read(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        value.extract().map_err(|_| PyTypeError::new_err(format!("option {name} takes True or False")))
    }
}

impl OptionValue for Option<f64> {
    /// `None` or a finite number ≥ 0 (what `cir-eval serve` accepts).
    fn read(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if value.is_none() {
            return Ok(None);
        }
        let x: f64 =
            value.extract().map_err(|_| PyTypeError::new_err(format!("option {name} takes a number or None")))?;
        if !(x.is_finite() && x >= 0.0) {
            return Err(PyValueError::new_err(format!("option {name} must be a finite number >= 0, not {x}")));
        }
        Ok(Some(x))
    }
}

impl OptionValue for PercentMode {
    /// One of [`PercentMode::NAMES`], as `cir-eval grade --percent`.
    fn read(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let names = PercentMode::NAMES.map(|n| format!("{n:?}")).join(", ");
        let text: PyBackedStr =
            value.extract().map_err(|_| PyTypeError::new_err(format!("option {name} takes one of {names}")))?;
        text.parse().map_err(|e: String| PyValueError::new_err(format!("option {name}: {e}")))
    }
}

/// The verdict on one prediction: whether it is equivalent to the gold answer, why, and the answers compared.
/// `bool(verdict)` is `verdict.equivalent`.
#[pyclass(frozen, module = "cir")]
pub struct Verdict {
    /// Whether the prediction is equivalent to the gold answer.
    #[pyo3(get)]
    equivalent: bool,
    /// Why: "equal: identical|exact|numeric|symbolic|set|text", "different", "different: work limit reached",
    /// "no answer found", "no gold answer found", "unparseable prediction" or "unparseable gold".
    #[pyo3(get)]
    reason: String,
    /// The answer extracted from the prediction, or None when it holds none.
    #[pyo3(get)]
    pred_answer: Option<String>,
    /// The answer extracted from the gold text, or None when it holds none.
    #[pyo3(get)]
    gold_answer: Option<String>,
}

impl From<cir_verify::Verdict> for Verdict {
    fn from(v: cir_verify::Verdict) -> Self {
        Verdict {
            equivalent: v.equivalent,
            reason: v.reason.to_string(),
            pred_answer: v.pred_answer,
            gold_answer: v.gold_answer,
        }
    }
}

#[pymethods]
impl Verdict {
    fn __bool__(&self) -> bool {
        self.equivalent
    }

    fn __repr__(&self) -> String {
        let show = |a: &Option<String>| a.as_ref().map_or_else(|| "None".to_string(), |a| format!("{a:?}"));
        format!(
            "Verdict(equivalent={}, reason={:?}, pred_answer={}, gold_answer={})",
            if self.equivalent { "True" } else { "False" },
            self.reason,
            show(&self.pred_answer),
            show(&self.gold_answer)
        )
    }
}

/// Is `pred` equivalent to `gold`?
///
/// pred: a bare answer or a whole model response (its final answer is extracted: the last \boxed{}, a "the final
/// answer is" sentence, the last math segment, the last number). gold: a bare answer or a worked solution whose
/// last \boxed{} is the answer. Texts over 1 MiB are read from their last 1 MiB; extracted answers over 4 KiB,
/// nesting deeper than 64 and comparisons past the work limit give a "different" or "unparseable" verdict, never
/// an exception. The GIL is released while it runs.
///
/// Options (keywords, defaults = exact mathematical equivalence):
///   ordered_lists=False       compare bare lists and sets in order
///   unordered_tuples=False    compare parenthesized tuples as sets (symeval's compare_sets)
///   percent="lenient"         "lenient": a bare 28 or 0.28 equals 28%, two percents as written; "unit": 28 only;
///                             "scaled": 0.28 only; "each-side": 0.4% equals 40% (Qwen2.5-Math)
///   percent_scaling=False     also accept numbers 100x apart (symeval)
///   allow_renaming=False      accept a consistent renaming of variables (Math-Verify's strict=False)
///   relation_vs_set=True      compare a relation prediction with a set gold (False: Math-Verify's default)
///   coarser_decimal_precision=False  between two decimals the coarser sets the precision (FinQA)
///   relative_tolerance=None   relative tolerance for numbers, e.g. 1e-4 (None: decimals count to the digits written)
///   lenient_last_line=False   when nothing else is found, take the last integer on the last line
/// An unknown option is a TypeError that names the valid ones (also in cir.VERIFY_OPTIONS).
#[pyfunction]
#[pyo3(signature = (pred, gold, **options))]
pub fn verify(
    py: Python<'_>,
    pred: PyBackedStr,
    gold: PyBackedStr,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Verdict> {
    let options = self::options(options)?;
    Ok(py.detach(|| cir_verify::verify_with(&pred, &gold, &options)).into())
}

/// The final answer in a response or worked solution (the extraction `verify` applies), or None when it holds none.
/// Texts over 1 MiB are read from their last 1 MiB.
#[pyfunction]
pub fn extract_answer(py: Python<'_>, text: PyBackedStr) -> Option<String> {
    py.detach(|| cir_verify::extract_answer(&text))
}

/// Verifies many (pred, gold) pairs on worker threads, with the GIL released; the verdicts come back in order.
///
/// pairs: an iterable of (pred, gold) string pairs (tuples or lists of two). threads: how many threads (default
/// None: one per core, on a shared pool; a number starts a pool of that size for this call). Options as `verify`,
/// applied to every pair.
#[pyfunction]
#[pyo3(signature = (pairs, threads = None, **options))]
pub fn verify_batch(
    py: Python<'_>,
    pairs: &Bound<'_, PyAny>,
    threads: Option<usize>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<Verdict>> {
    let options = self::options(options)?;
    let mut texts = Vec::new();
    for (i, pair) in pairs.try_iter()?.enumerate() {
        texts.push(read_pair(i, &pair?)?);
    }
    let pool = match threads {
        Some(0) => return Err(PyValueError::new_err("threads must be at least 1 (None: one per core)")),
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("starting {n} threads: {e}")))?,
        ),
        None => None,
    };
    let run = || -> Vec<cir_verify::Verdict> {
        texts.par_iter().map(|(pred, gold)| cir_verify::verify_with(pred, gold, &options)).collect()
    };
    let verdicts = py.detach(|| match &pool {
        Some(pool) => pool.install(run),
        None => run(),
    });
    Ok(verdicts.into_iter().map(Verdict::from).collect())
}

/// Pair `i` as two strings: a `TypeError` naming it when it is not a pair of `str`.
fn read_pair(i: usize, pair: &Bound<'_, PyAny>) -> PyResult<(PyBackedStr, PyBackedStr)> {
    let wrong = |what: String| PyTypeError::new_err(format!("pairs[{i}]: {what}"));
    let items: Vec<Bound<'_, PyAny>> = if let Ok(tuple) = pair.cast::<PyTuple>() {
        tuple.iter().collect()
    } else if let Ok(list) = pair.cast::<PyList>() {
        list.iter().collect()
    } else {
        return Err(wrong(format!("expected a (pred, gold) tuple, got {}", type_name(pair))));
    };
    let [pred, gold] = items.as_slice() else {
        return Err(wrong(format!("expected a (pred, gold) pair, got {} items", items.len())));
    };
    let text = |x: &Bound<'_, PyAny>, what: &str| {
        if !x.is_instance_of::<PyString>() {
            return Err(wrong(format!("{what} must be a str, not {}", type_name(x))));
        }
        x.extract::<PyBackedStr>() // a str that is not valid Unicode (lone surrogates): UnicodeEncodeError
    };
    Ok((text(pred, "pred")?, text(gold, "gold")?))
}

fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
}
