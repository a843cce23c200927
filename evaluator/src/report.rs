//! `cir-eval report`: metrics of trajectory files as a Markdown table or JSON, and a pass@k curve as SVG.

use std::fmt::Write;

use cir_record::{DatasetMetrics, Metrics, Trajectory};

use cir_rollout::Grader;

/// Output format of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown tables.
    Md,
    /// The [`Metrics`] as pretty JSON.
    Json,
}

/// The metrics of `trajectories`, answers grouped for majority voting by the grader's equivalence.
pub fn metrics(trajectories: &[Trajectory], grader: &dyn Grader) -> Metrics {
    Metrics::compute(trajectories, &|a, b| grader.verify(a, b).equivalent)
}

/// The report in `format`.
pub fn render(metrics: &Metrics, format: Format) -> String {
    match format {
        Format::Md => markdown(metrics),
        Format::Json => serde_json::to_string_pretty(metrics).unwrap_or_default() + "\n",
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), pct)
}

/// The ks shown in tables: 1, 2, 4, … and n.
fn shown_ks(d: &DatasetMetrics) -> Vec<u32> {
    d.pass_at_k.iter().map(|a| a.k).filter(|k| k.is_power_of_two() || *k == d.n).collect()
}

/// Markdown: one accuracy table, one tool table, one pass@k table (percentages).
pub fn markdown(m: &Metrics) -> String {
    let rows: Vec<&DatasetMetrics> = m.datasets.iter().chain(std::iter::once(&m.overall)).collect();
    let mut s = String::new();
    s.push_str("| dataset | problems | samples | n | avg@n | pass@n | maj@n | greedy |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for d in &rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            d.dataset,
            d.problems,
            d.samples,
            d.n,
            pct(d.avg),
            opt_pct(d.pass_at_k.last().map(|a| a.value)),
            opt_pct(d.maj_at_k.last().map(|a| a.value)),
            opt_pct(d.greedy_accuracy)
        );
    }
    let _ = writeln!(s, "\nMacro average of avg@n over datasets: {}\n", pct(m.macro_avg));
    s.push_str("| dataset | calls/traj | used code | calls histogram | exec errors | exec timeouts | acc with code | acc without | budget exhausted | length | failed | tokens/traj |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for d in &rows {
        let t = &d.tools;
        let hist: Vec<String> = t.calls_histogram.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            d.dataset,
            t.mean_calls,
            pct(t.tool_use_rate),
            hist.join(" "),
            pct(t.execution_error_rate),
            pct(t.execution_timeout_rate),
            opt_pct(t.accuracy_with_code),
            opt_pct(t.accuracy_without_code),
            pct(t.budget_exhausted_rate),
            pct(t.length_rate),
            pct(t.error_rate),
            t.mean_completion_tokens.map_or_else(|| "–".into(), |x| format!("{x:.0}"))
        );
    }
    s.push_str("\n| dataset | pass@k (k: value) | maj@k (k: value) |\n|---|---|---|\n");
    for d in &rows {
        let ks = shown_ks(d);
        let pass: Vec<String> =
            d.pass_at_k.iter().filter(|a| ks.contains(&a.k)).map(|a| format!("{}: {}", a.k, pct(a.value))).collect();
        let maj: Vec<String> = d.maj_at_k.iter().map(|a| format!("{}: {}", a.k, pct(a.value))).collect();
        let _ = writeln!(s, "| {} | {} | {} |", d.dataset, pass.join(", "), maj.join(", "));
    }
    s
}

/// A pass@k curve per dataset (and overall) as a standalone SVG: k on a log₂ axis, pass@k in percent.
pub fn svg(m: &Metrics) -> String {
    const W: f64 = 720.0;
    const H: f64 = 440.0;
    const L: f64 = 60.0;
    const R: f64 = 170.0;
    const T: f64 = 30.0;
    const B: f64 = 50.0;
    const COLORS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#111111"];
    let rows: Vec<&DatasetMetrics> = m.datasets.iter().chain(std::iter::once(&m.overall)).collect();
    let max_k = rows.iter().map(|d| d.n).max().unwrap_or(1).max(2);
    let span = f64::from(max_k).log2();
    let x = |k: u32| L + (W - L - R) * f64::from(k).log2() / span;
    let y = |v: f64| T + (H - T - B) * (1.0 - v);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">pass@k</text>\n",
        (L + W - R) / 2.0
    );
    for tick in 0..=5 {
        let v = f64::from(tick) / 5.0;
        let _ = writeln!(
            s,
            "<line x1=\"{L}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - R,
            y(v),
            y(v),
            L - 6.0,
            y(v) + 4.0,
            tick * 20
        );
    }
    let mut k = 1u32;
    while k <= max_k {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{T}\" y2=\"{1:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{k}</text>",
            x(k),
            H - B,
            H - B + 16.0
        );
        k = match k.checked_mul(2) {
            Some(next) => next,
            None => break,
        };
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">k (samples)</text><text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">pass@k (%)</text>",
        (L + W - R) / 2.0,
        H - 12.0,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0
    );
    for (i, d) in rows.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = d.pass_at_k.iter().map(|a| format!("{:.1},{:.1}", x(a.k), y(a.value))).collect();
        if !points.is_empty() {
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                points.join(" ")
            );
            for p in &points {
                let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, "<circle cx=\"{px}\" cy=\"{py}\" r=\"2.5\" fill=\"{color}\"/>");
            }
        }
        let ly = T + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{1:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{2:.1}\" y=\"{3:.1}\">{4}</text>",
            W - R + 12.0,
            W - R + 32.0,
            W - R + 38.0,
            ly + 4.0,
            escape(&d.dataset)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Command-line arguments of `cir-eval report`.
#[derive(Clone, Debug, clap::Args)]
pub struct ReportArgs {
    /// Trajectory files (their trajectories are pooled; each keeps its dataset name).
    #[arg(required = true)]
    pub trajectories: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Also write the pass@k curve to this SVG file.
    #[arg(long)]
    pub plot: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cir_rollout::Verifier;

    #[test]
    fn empty_input_renders_without_curves() {
        let m = metrics(&[], &Verifier::default());
        let svg = svg(&m);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n") && !svg.contains("<polyline"), "{svg}");
        let md = markdown(&m);
        assert!(md.contains("| overall | 0 | 0 | 0 | 0.0 | – | – | – |"), "{md}");
        assert!(render(&m, Format::Json).contains("\"macro_avg\": 0.0"));
    }

    #[test]
    fn names_are_escaped_in_svg() {
        assert_eq!(escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    }
}
