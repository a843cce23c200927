//! `cir-eval report`: the paper's analyses from trajectory files, as Markdown or JSON, with SVG plots.
//!
//! One run (trajectory files pooled): accuracy, pass@k, maj@k, tool and error-feedback tables per dataset and
//! overall, and per value of each `--by` field. Several runs (`--run NAME=FILE …`): one table with a column per run
//! and deltas against the first, overall and per value of each `--by` field, and the error-feedback table per run.
//! The numbers are [`cir_record::metrics`]' (the same code the browser viewer runs); this module reads the files,
//! renders ([`markdown`], [`svg`]) and writes the plots.

use std::path::{Path, PathBuf};

use cir_record::{Comparison, LengthHistogram, Metrics, Trajectory};
use cir_rollout::Grader;

use crate::{Error, trajectories};

pub mod markdown;
pub mod svg;

/// Output format of a report: `md` (the default) or `json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Markdown tables.
    #[default]
    Md,
    /// The [`Metrics`] (one run) or the [`Comparison`] (`--run`) as pretty JSON.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "md" => Ok(Format::Md),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format {s:?} (md or json)")),
        }
    }
}

/// Most bins of a response-length histogram: fine enough to show the shape, coarse enough to read at 720 pixels.
pub const LENGTH_BINS: usize = 30;

/// One `--run NAME=FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    /// The run's name, as the table's column header and the plots' legend show it.
    pub name: String,
    /// A trajectory file of the run.
    pub path: PathBuf,
}

impl std::str::FromStr for RunSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<RunSpec, String> {
        match s.split_once('=') {
            Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
                Ok(RunSpec { name: name.trim().to_owned(), path: path.into() })
            }
            _ => Err(format!("expected NAME=FILE (e.g. tools=tools.jsonl), got {s:?}")),
        }
    }
}

/// What `cir-eval report` is asked for (its flags, see `cir-eval report --help`).
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Trajectory files, pooled into one run (each trajectory keeps its dataset name); unused with `runs`.
    pub trajectories: Vec<PathBuf>,
    /// Runs side by side (the first is the baseline of every delta); a repeated name pools its files.
    pub runs: Vec<RunSpec>,
    /// Fields to split by (`subject`, `level`, … of the trajectories' `meta`, or `dataset`).
    pub by: Vec<String>,
    /// The k of the pass@k and maj@k rows; empty: with runs, 1 and the runs' smallest n, else 1, 2, 4, … and n.
    pub k: Vec<u32>,
    /// Output format.
    pub format: Format,
    /// Where to write the pass@k curves (SVG), if anywhere.
    pub plot: Option<PathBuf>,
    /// Where to write the response-length histograms (SVG), if anywhere.
    pub lengths: Option<PathBuf>,
}

/// The metrics of `trajectories`, answers grouped for majority voting by the grader's equivalence.
pub fn metrics(trajectories: &[Trajectory], grader: &dyn Grader) -> Metrics {
    Metrics::compute(trajectories, &|a, b| grader.verify(a, b).equivalent)
}

/// The one-run report in `format`, pass@k and maj@k at 1, 2, 4, … and n.
pub fn render(metrics: &Metrics, format: Format) -> String {
    match format {
        Format::Md => markdown::metrics(metrics, &[]),
        Format::Json => json(metrics),
    }
}

/// Runs `cir-eval report`: reads the files, writes the plots asked for, and returns the report text.
///
/// # Errors
/// [`Error::Io`] or [`Error::Trajectory`] for a file that cannot be read or a plot that cannot be written;
/// [`Error::Config`] for a `--by` field that no trajectory has.
pub fn run(args: &Request, grader: &dyn Grader) -> Result<String, Error> {
    let equivalent = |a: &str, b: &str| grader.verify(a, b).equivalent;
    let fields: Vec<&str> = args.by.iter().map(String::as_str).collect();
    if args.runs.is_empty() {
        let mut all = Vec::new();
        for path in &args.trajectories {
            all.extend(trajectories::read(path)?);
        }
        check_fields(&fields, &[&all])?;
        let m = Metrics::compute_by(&all, &fields, &equivalent);
        write_plot(args.plot.as_deref(), || svg::metrics(&m))?;
        write_plot(args.lengths.as_deref(), || {
            let unique = cir_record::metrics::unique(&all);
            let series = m.datasets.iter().map(|d| {
                (d.dataset.clone(), unique.iter().copied().filter(|t| t.dataset == d.dataset).collect::<Vec<_>>())
            });
            svg::lengths(&LengthHistogram::compute(series, LENGTH_BINS))
        })?;
        return Ok(match args.format {
            Format::Md => markdown::metrics(&m, &args.k),
            Format::Json => json(&m),
        });
    }
    // Runs in the order their names first appear, each with all of its files.
    let mut runs: Vec<(String, Vec<Trajectory>)> = Vec::new();
    for spec in &args.runs {
        let ts = trajectories::read(&spec.path)?;
        match runs.iter_mut().find(|(name, _)| *name == spec.name) {
            Some((_, pooled)) => pooled.extend(ts),
            None => runs.push((spec.name.clone(), ts)),
        }
    }
    check_fields(&fields, &runs.iter().map(|(_, ts)| ts.as_slice()).collect::<Vec<_>>())?;
    let named: Vec<(&str, &[Trajectory])> = runs.iter().map(|(name, ts)| (name.as_str(), ts.as_slice())).collect();
    let c = Comparison::compute(&named, &fields, &args.k, &equivalent);
    write_plot(args.plot.as_deref(), || svg::comparison(&c))?;
    write_plot(args.lengths.as_deref(), || {
        let series = runs.iter().map(|(name, ts)| (name.clone(), ts.iter().collect::<Vec<_>>()));
        svg::lengths(&LengthHistogram::compute(series, LENGTH_BINS))
    })?;
    Ok(match args.format {
        Format::Md => markdown::comparison(&c),
        Format::Json => json(&c),
    })
}

/// Refuses a `--by` field that no trajectory has (a typo would otherwise give one `(missing)` group), naming the
/// fields there are.
fn check_fields(fields: &[&str], sets: &[&[Trajectory]]) -> Result<(), Error> {
    let present: std::collections::BTreeSet<String> =
        sets.iter().flat_map(|ts| cir_record::metrics::meta_fields(ts)).collect();
    match fields.iter().find(|f| **f != "dataset" && !present.iter().any(|p| p == *f)) {
        None => Ok(()),
        Some(f) => Err(Error::Config(format!(
            "--by {f}: no trajectory has that field; the fields there are: dataset{}",
            present.iter().map(|p| format!(", {p}")).collect::<String>()
        ))),
    }
}

fn write_plot(path: Option<&Path>, svg: impl FnOnce() -> String) -> Result<(), Error> {
    match path {
        Some(path) => std::fs::write(path, svg()).map_err(|source| Error::Io { path: path.into(), source }),
        None => Ok(()),
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use cir_rollout::Verifier;

    #[test]
    fn empty_input_renders_without_curves() {
        let m = metrics(&[], &Verifier::default());
        let svg = svg::metrics(&m);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n") && !svg.contains("<polyline"), "{svg}");
        let md = markdown::metrics(&m, &[]);
        assert!(md.contains("| overall | 0 | 0 | 0 | 0.0 | – | – | – |"), "{md}");
        assert!(render(&m, Format::Json).contains("\"macro_avg\": 0.0"));
    }

    #[test]
    fn run_specs_need_a_name_and_a_file() {
        let spec: RunSpec = "tools=out/a=b.jsonl".parse().unwrap();
        assert_eq!((spec.name.as_str(), spec.path.as_path()), ("tools", Path::new("out/a=b.jsonl")));
        for bad in ["tools.jsonl", "=a.jsonl", "tools="] {
            assert!(bad.parse::<RunSpec>().unwrap_err().contains("expected NAME=FILE"), "{bad}");
        }
    }
}
