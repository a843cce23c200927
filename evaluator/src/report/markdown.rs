//! The report as Markdown tables: shares in percent with one decimal, deltas in parentheses (percentage points for
//! shares), `–` where there is no value.

use std::fmt::Write;

use cir_record::metrics::{Stat, StatKind, Table};
use cir_record::{Comparison, DatasetMetrics, ErrorFeedback, ErrorGroup, Metrics};

/// One run: the accuracy, tool and pass@k/maj@k tables per dataset and overall, the error-feedback table, and the
/// same three tables per value of each breakdown field. `ks` chooses the pass@k and maj@k columns (empty: 1, 2, 4, …
/// and n).
pub fn metrics(m: &Metrics, ks: &[u32]) -> String {
    let rows: Vec<&DatasetMetrics> = m.datasets.iter().chain(std::iter::once(&m.overall)).collect();
    let mut s = String::new();
    accuracy_table(&mut s, "dataset", &rows);
    let _ = writeln!(s, "\nMacro average of avg@n over datasets: {}\n", pct(m.macro_avg));
    tool_table(&mut s, "dataset", &rows);
    s.push('\n');
    at_k_table(&mut s, "dataset", &rows, ks);
    s.push_str("\n## Error feedback\n\n");
    error_table(&mut s, "dataset", rows.iter().map(|d| (d.dataset.as_str(), &d.error_feedback)));
    for b in &m.by {
        let groups: Vec<&DatasetMetrics> = b.groups.iter().collect();
        let _ = writeln!(s, "\n## By {}\n", b.field);
        accuracy_table(&mut s, &b.field, &groups);
        s.push('\n');
        tool_table(&mut s, &b.field, &groups);
        s.push('\n');
        at_k_table(&mut s, &b.field, &groups, ks);
    }
    s
}

/// Several runs: the comparison table overall and per value of each breakdown field (the group named on its first
/// row), then the error-feedback table of every run.
pub fn comparison(c: &Comparison) -> String {
    let mut s = String::new();
    let header = |s: &mut String, first: &[&str]| {
        let names: Vec<&str> = first.iter().copied().chain(c.runs.iter().map(String::as_str)).collect();
        let _ = writeln!(s, "| {} |", names.iter().map(|n| escape(n)).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(s, "|{}{}", "---|".repeat(first.len()), "---:|".repeat(c.runs.len()));
    };
    header(&mut s, &["statistic"]);
    stat_rows(&mut s, None, &c.overall);
    let _ = writeln!(
        s,
        "\nShares in percent; in parentheses the difference from {} (percentage points for shares).",
        c.runs.first().map_or("the first run", String::as_str)
    );
    for tables in &c.by {
        let _ = writeln!(s, "\n## By {}\n", tables.field);
        header(&mut s, &[&tables.field, "statistic"]);
        for table in &tables.tables {
            stat_rows(&mut s, Some(&table.group), table);
        }
    }
    s.push_str("\n## Error feedback\n\n");
    error_table(
        &mut s,
        "run",
        c.runs.iter().zip(&c.metrics).map(|(name, m)| (name.as_str(), &m.overall.error_feedback)),
    );
    s
}

/// One row per statistic; with a group, a leading column holding the group's name on its first row.
fn stat_rows(s: &mut String, group: Option<&str>, table: &Table) {
    for (i, stat) in table.stats.iter().enumerate() {
        if let Some(group) = group {
            let _ = write!(s, "| {} ", if i == 0 { escape(group) } else { String::new() });
        }
        let cells: Vec<String> = stat
            .values
            .iter()
            .zip(&stat.deltas)
            .map(|(v, d)| match (v, d) {
                (None, _) => "–".to_owned(),
                (Some(v), None) => number(stat, *v),
                (Some(v), Some(d)) => format!("{} ({})", number(stat, *v), delta(stat, *d)),
            })
            .collect();
        let _ = writeln!(s, "| {} | {} |", label(&stat.name), cells.join(" | "));
    }
}

fn label(name: &str) -> String {
    match name {
        "accuracy" => "accuracy (avg@n)".into(),
        "response_tokens" => "response tokens (mean)".into(),
        "tool_calls" => "tool calls / trajectory".into(),
        "code_share" => "used code".into(),
        other => other.into(),
    }
}

fn number(stat: &Stat, v: f64) -> String {
    match (stat.kind, stat.name.as_str()) {
        (StatKind::Count, _) => format!("{v:.0}"),
        (StatKind::Share, _) => pct(v),
        (StatKind::Mean, "tool_calls") => format!("{v:.2}"),
        (StatKind::Mean, _) => format!("{v:.0}"),
    }
}

fn delta(stat: &Stat, d: f64) -> String {
    match (stat.kind, stat.name.as_str()) {
        (StatKind::Share, _) => format!("{:+.1}", 100.0 * d),
        (StatKind::Mean, "tool_calls") => format!("{d:+.2}"),
        _ => format!("{d:+.0}"),
    }
}

fn accuracy_table(s: &mut String, first: &str, rows: &[&DatasetMetrics]) {
    let _ = writeln!(
        s,
        "| {} | problems | samples | n | avg@n | pass@n | maj@n | greedy |\n|---|---:|---:|---:|---:|---:|---:|---:|",
        escape(first)
    );
    for d in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&d.dataset),
            d.problems,
            d.samples,
            d.n,
            pct(d.avg),
            opt_pct(d.pass_at_k.last().map(|a| a.value)),
            opt_pct(d.maj_at_k.last().map(|a| a.value)),
            opt_pct(d.greedy_accuracy)
        );
    }
}

fn tool_table(s: &mut String, first: &str, rows: &[&DatasetMetrics]) {
    let _ = writeln!(
        s,
        "| {} | calls/traj | used code | calls histogram | exec errors | exec timeouts | acc with code | acc without | budget exhausted | length | failed | tokens/traj |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        escape(first)
    );
    for d in rows {
        let t = &d.tools;
        let hist: Vec<String> = t.calls_histogram.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&d.dataset),
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
}

/// pass@k and maj@k at `ks` (those up to each row's n), or at 1, 2, 4, … and n when `ks` is empty.
fn at_k_table(s: &mut String, first: &str, rows: &[&DatasetMetrics], ks: &[u32]) {
    let _ = writeln!(s, "| {} | pass@k (k: value) | maj@k (k: value) |\n|---|---|---|", escape(first));
    for d in rows {
        let shown = |k: u32| if ks.is_empty() { k.is_power_of_two() || k == d.n } else { ks.contains(&k) };
        let list = |values: &[cir_record::AtK]| {
            let cells: Vec<String> =
                values.iter().filter(|a| shown(a.k)).map(|a| format!("{}: {}", a.k, pct(a.value))).collect();
            cells.join(", ")
        };
        let _ = writeln!(s, "| {} | {} | {} |", escape(&d.dataset), list(&d.pass_at_k), list(&d.maj_at_k));
    }
}

/// Per row: the clean trajectories, all errored ones, and each kind of first error that occurred.
fn error_table<'a>(s: &mut String, first: &str, rows: impl Iterator<Item = (&'a str, &'a ErrorFeedback)>) {
    let _ = writeln!(
        s,
        "| {} | first error report | trajectories | share | wrote another block | next block ran cleanly | accuracy |\n|---|---|---:|---:|---:|---:|---:|",
        escape(first)
    );
    for (name, f) in rows {
        let name = escape(name);
        let _ = writeln!(s, "| {name} | none (ran code) | {} | | | | {} |", f.clean, opt_pct(f.clean_accuracy));
        let group = |s: &mut String, label: &str, g: &ErrorGroup| {
            let _ = writeln!(
                s,
                "| {name} | {label} | {} | {} | {} | {} | {} |",
                g.trajectories,
                pct(g.share),
                pct(g.revised),
                pct(g.recovered),
                opt_pct(g.accuracy)
            );
        };
        group(s, "any", &f.errored);
        for g in f.by_kind.iter().filter(|g| g.trajectories > 0) {
            group(s, g.kind.map_or("any", |k| k.as_str()), g);
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), pct)
}

/// Text in a table cell: a `|` would end the cell, a newline the row.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
