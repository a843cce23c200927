//! The report's plots as standalone SVG: pass@k curves (the paper's capability-expansion figure) and response-length
//! histograms (its efficiency analysis). Every name is escaped; the output is well-formed XML.

use std::fmt::Write;

use cir_record::{AtK, Comparison, DatasetMetrics, LengthHistogram, Metrics};

const COLORS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#111111"];

/// One pass@k curve per dataset and one for all of them (`overall`).
pub fn metrics(m: &Metrics) -> String {
    let rows: Vec<&DatasetMetrics> = m.datasets.iter().chain(std::iter::once(&m.overall)).collect();
    let series: Vec<(&str, &[AtK])> = rows.iter().map(|d| (d.dataset.as_str(), d.pass_at_k.as_slice())).collect();
    pass_at_k("pass@k", &series)
}

/// One pass@k curve per run (all of its trajectories), k = 1 … its n.
pub fn comparison(c: &Comparison) -> String {
    let series: Vec<(&str, &[AtK])> =
        c.runs.iter().zip(&c.metrics).map(|(name, m)| (name.as_str(), m.overall.pass_at_k.as_slice())).collect();
    pass_at_k("pass@k per run", &series)
}

/// Curves of pass@k against k on a log₂ axis (ticks at powers of two and at the largest k), pass@k in percent; one
/// `<polyline>` per series that has a point, and a legend entry for every series.
pub fn pass_at_k(title: &str, series: &[(&str, &[AtK])]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 440.0;
    const L: f64 = 60.0;
    const R: f64 = 170.0;
    const T: f64 = 30.0;
    const B: f64 = 50.0;
    let max_k = series.iter().flat_map(|(_, p)| p.iter().map(|a| a.k)).max().unwrap_or(1).max(2);
    let span = f64::from(max_k).log2();
    let x = |k: u32| L + (W - L - R) * f64::from(k).log2() / span;
    let y = |v: f64| T + (H - T - B) * (1.0 - v);
    let mut s = open(W, H);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{}</text>",
        (L + W - R) / 2.0,
        escape(title)
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
    let mut ticks: Vec<u32> =
        std::iter::successors(Some(1u32), |k| k.checked_mul(2)).take_while(|k| *k <= max_k).collect();
    if ticks.last() != Some(&max_k) {
        ticks.push(max_k);
    }
    for k in ticks {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{T}\" y2=\"{1:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{k}</text>",
            x(k),
            H - B,
            H - B + 16.0
        );
    }
    axis_labels(&mut s, (L + W - R) / 2.0, H - 12.0, (T + H - B) / 2.0, "k (samples, log scale)", "pass@k (%)");
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let coords: Vec<(f64, f64)> = points.iter().map(|a| (x(a.k), y(a.value))).collect();
        if !coords.is_empty() {
            let list: Vec<String> = coords.iter().map(|(px, py)| format!("{px:.1},{py:.1}")).collect();
            let _ = writeln!(
                s,
                "<polyline class=\"curve\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
                list.join(" "),
                escape(name)
            );
            for (px, py) in &coords {
                let _ = writeln!(s, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"{color}\"/>");
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
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One histogram panel per series, stacked, over the same bins and the same vertical scale (share of the series'
/// counted trajectories), each with its mean marked by a dashed line.
pub fn lengths(h: &LengthHistogram) -> String {
    const W: f64 = 720.0;
    const PANEL: f64 = 150.0;
    const L: f64 = 60.0;
    const R: f64 = 20.0;
    const T: f64 = 34.0;
    const GAP: f64 = 36.0;
    const B: f64 = 46.0;
    let panels = h.series.len().max(1) as f64;
    let height = T + panels * PANEL + (panels - 1.0) * GAP + B;
    let share = |count: u64, total: usize| if total == 0 { 0.0 } else { count as f64 / total as f64 };
    let top = h
        .series
        .iter()
        .flat_map(|series| series.counts.iter().map(|c| share(*c, series.counted)))
        .fold(0.0f64, f64::max);
    // The vertical scale: the next multiple of 10 % above the highest bar.
    let y_max = ((top * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
    let x_max = (h.bins.max(1) as u64 * h.bin_width) as f64;
    let x = |tokens: f64| L + (W - L - R) * tokens / x_max;
    let mut s = open(W, height);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">response length (completion tokens; bins of {})</text>",
        (L + W - R) / 2.0,
        h.bin_width
    );
    for (i, series) in h.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let top_y = T + i as f64 * (PANEL + GAP);
        let y = |v: f64| top_y + PANEL * (1.0 - v / y_max);
        let _ = writeln!(s, "<g class=\"histogram\">");
        let stats = match (series.mean, series.median) {
            (Some(mean), Some(median)) => {
                format!("{} trajectories, mean {mean:.0}, median {median:.0}", series.counted)
            }
            _ => "no token counts".to_owned(),
        };
        let unreported = if series.unreported > 0 {
            format!(" ({} without a token count left out)", series.unreported)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "<text x=\"{L}\" y=\"{:.1}\" font-weight=\"bold\">{}: {stats}{unreported}</text>",
            top_y - 6.0,
            escape(&series.name)
        );
        for tick in 0..=2 {
            let v = y_max * f64::from(tick) / 2.0;
            let _ = writeln!(
                s,
                "<line x1=\"{L}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{4:.0}</text>",
                W - R,
                y(v),
                L - 6.0,
                y(v) + 4.0,
                100.0 * v
            );
        }
        for (b, count) in series.counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let lo = (b as u64 * h.bin_width) as f64;
            let v = share(*count, series.counted);
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}–{}: {count}</title></rect>",
                x(lo) + 0.5,
                y(v),
                (x(lo + h.bin_width as f64) - x(lo) - 1.0).max(0.5),
                top_y + PANEL - y(v),
                lo,
                lo + h.bin_width as f64 - 1.0
            );
        }
        if let Some(mean) = series.mean {
            let _ = writeln!(
                s,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top_y:.1}\" y2=\"{1:.1}\" stroke=\"#111\" stroke-dasharray=\"4 3\"><title>mean {mean:.0}</title></line>",
                x(mean),
                top_y + PANEL
            );
        }
        let _ = writeln!(s, "</g>");
    }
    let axis_y = T + panels * PANEL + (panels - 1.0) * GAP;
    for tick in 0..=5 {
        let tokens = x_max * f64::from(tick) / 5.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{tokens:.0}</text>",
            x(tokens),
            axis_y + 16.0
        );
    }
    axis_labels(
        &mut s,
        (L + W - R) / 2.0,
        height - 10.0,
        T + (axis_y - T) / 2.0,
        "completion tokens",
        "share of trajectories (%)",
    );
    s.push_str("</svg>\n");
    s
}

fn open(w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    )
}

fn axis_labels(s: &mut String, x_mid: f64, x_label_y: f64, y_mid: f64, x_label: &str, y_label: &str) {
    let _ = writeln!(
        s,
        "<text x=\"{x_mid:.1}\" y=\"{x_label_y:.1}\" text-anchor=\"middle\">{}</text><text x=\"16\" y=\"{y_mid:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {y_mid:.1})\">{}</text>",
        escape(x_label),
        escape(y_label)
    );
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_svg() {
        assert_eq!(escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    }
}
