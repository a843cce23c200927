//! `cir-train plot`: a run's curves as one standalone SVG — reward and accuracy, validation accuracy (with and
//! without the tool), tool calls, response length, gradient norm, clip fractions and KL, one panel each.

use std::fmt::Write;

use crate::rl::metrics::{StepMetrics, ValMetrics};

/// One panel: a title and its series (name, points).
struct Panel<'a> {
    title: &'a str,
    series: Vec<(&'a str, Vec<(f64, f64)>)>,
}

const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The SVG of a run's metrics and validations.
pub fn svg(steps: &[StepMetrics], val: &[ValMetrics]) -> String {
    let s = |f: fn(&StepMetrics) -> f32| steps.iter().map(|m| (m.step as f64, f64::from(f(m)))).collect::<Vec<_>>();
    let panels = [
        Panel { title: "reward (mean of rollouts)", series: vec![("reward", s(|m| m.reward_mean))] },
        Panel { title: "rollout accuracy", series: vec![("accuracy", s(|m| m.accuracy))] },
        Panel {
            title: "validation accuracy",
            series: vec![
                ("with the tool", val.iter().map(|v| (v.step as f64, f64::from(v.accuracy))).collect()),
                (
                    "without the tool",
                    val.iter().filter_map(|v| v.accuracy_without_tool.map(|a| (v.step as f64, f64::from(a)))).collect(),
                ),
            ],
        },
        Panel {
            title: "tool calls per trajectory",
            series: vec![("calls", s(|m| m.tool_calls)), ("budget", s(|m| m.tool_budget as f32))],
        },
        Panel { title: "response tokens", series: vec![("tokens", s(|m| m.response_tokens))] },
        Panel { title: "gradient norm", series: vec![("grad norm", s(|m| m.grad_norm))] },
        Panel {
            title: "clip fractions",
            series: vec![("clipfrac", s(|m| m.clipfrac)), ("lower", s(|m| m.clipfrac_lower))],
        },
        Panel { title: "ppo_kl and entropy", series: vec![("ppo_kl", s(|m| m.ppo_kl)), ("entropy", s(|m| m.entropy))] },
    ];
    let (w, h, cols) = (360.0, 220.0, 2usize);
    let rows = panels.len().div_ceil(cols);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        w * cols as f64,
        h * rows as f64
    );
    for (i, p) in panels.iter().enumerate() {
        let (x0, y0) = ((i % cols) as f64 * w, (i / cols) as f64 * h);
        panel(&mut out, p, x0, y0, w, h);
    }
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, p: &Panel<'_>, x0: f64, y0: f64, w: f64, h: f64) {
    let (left, right, top, bottom) = (x0 + 48.0, x0 + w - 12.0, y0 + 24.0, y0 + h - 34.0);
    let points: Vec<(f64, f64)> =
        p.series.iter().flat_map(|(_, s)| s.iter().copied()).filter(|(_, y)| y.is_finite()).collect();
    let _ = writeln!(out, r#"<text x="{}" y="{}" font-weight="bold">{}</text>"#, x0 + 48.0, y0 + 14.0, escape(p.title));
    let _ = writeln!(
        out,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        right - left,
        bottom - top
    );
    if points.is_empty() {
        let _ = writeln!(out, r##"<text x="{}" y="{}" fill="#999">no data</text>"##, left + 8.0, top + 16.0);
        return;
    }
    let (xmin, xmax) = bounds(points.iter().map(|p| p.0));
    let (ymin, ymax) = bounds(points.iter().map(|p| p.1));
    let sx = |x: f64| left + (x - xmin) / (xmax - xmin) * (right - left);
    let sy = |y: f64| bottom - (y - ymin) / (ymax - ymin) * (bottom - top);
    for (v, y) in [(ymin, bottom), (ymax, top)] {
        let _ = writeln!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 4.0, y + 4.0, label(v));
    }
    for (v, x) in [(xmin, left), (xmax, right)] {
        let _ = writeln!(out, r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>"#, bottom + 14.0, label(v));
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">step</text>"##,
        (left + right) / 2.0,
        bottom + 28.0
    );
    for (k, (name, s)) in p.series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let pts: Vec<String> =
            s.iter().filter(|(_, y)| y.is_finite()).map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        if pts.len() == 1 {
            let (cx, cy) = pts[0].split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(out, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>"#);
        } else if !pts.is_empty() {
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                pts.join(" ")
            );
        }
        if p.series.len() > 1 {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
                right - 110.0,
                top + 14.0 + 13.0 * k as f64,
                escape(name)
            );
        }
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if (hi - lo).abs() < 1e-12 { (lo - 1.0, hi + 1.0) } else { (lo, hi) }
}

fn label(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.3}") }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_series_with_data() {
        let steps: Vec<StepMetrics> =
            (1..=5).map(|s| StepMetrics { step: s, reward_mean: s as f32 / 5.0, ..StepMetrics::default() }).collect();
        let val = [
            ValMetrics { step: 0, accuracy: 0.1, accuracy_without_tool: Some(0.0), ..ValMetrics::default() },
            ValMetrics { step: 5, accuracy: 0.6, ..ValMetrics::default() },
        ];
        let svg = svg(&steps, &val);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        // Every series of the step panels has a line (10); validation with the tool has two points (a line),
        // without it one (a dot).
        assert_eq!(svg.matches("<polyline").count(), 11, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains(">validation accuracy</text>"));
    }
}
