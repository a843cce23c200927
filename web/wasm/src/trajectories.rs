//! Trajectory files in the viewer: one line at a time, schema checked, re-graded with the verifier; metrics over
//! what was loaded, computed by [`cir_record::Metrics`] (the same code as `cir-eval report`).

use cir_record::{Breakdown, Metrics, SCHEMA_VERSION, Trajectory, is_readable_schema};
use serde::Serialize;

use crate::Error;

/// A trajectory as the viewer shows it: the stored record plus a verdict recomputed by this build's verifier.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The record as stored in the file (after parsing with [`Trajectory`], so defaults are filled in).
    pub trajectory: Trajectory,
    /// The answer this build extracts from the response text.
    pub answer: Option<String>,
    /// This build's verdict on that answer against the stored gold answer.
    pub regrade: cir_record::Verdict,
    /// True when the stored verdict exists and its `equivalent` differs from the recomputed one.
    pub changed: bool,
}

/// Parses one JSONL line: checks that it is an object with a readable `schema` (1 or [`SCHEMA_VERSION`]), then reads it as a
/// [`Trajectory`]. The version is checked first so that a file of another version says so rather than naming
/// whichever field changed.
pub fn parse_line(line: &str) -> Result<Trajectory, Error> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(Error::NotJson)?;
    let Some(object) = value.as_object() else {
        return Err(Error::NotJson(serde::de::Error::custom("the line is not an object")));
    };
    match object.get("schema").and_then(serde_json::Value::as_u64) {
        None => return Err(Error::NoSchema),
        Some(found) if !is_readable_schema(found) => {
            return Err(Error::Schema { found, expected: SCHEMA_VERSION });
        }
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(Error::Invalid)
}

/// Re-grades a trajectory as `cir-eval run` and `score` do: one [`cir_verify::verify`] of the whole response text
/// against the stored gold answer, with the default options; the answer is the one that call extracted.
pub fn regrade(trajectory: Trajectory) -> Row {
    let v = cir_verify::verify(&trajectory.response_text(), &trajectory.gold);
    let answer = v.pred_answer.clone();
    let regrade = cir_record::Verdict::from(v);
    let changed = trajectory.verdict.as_ref().is_some_and(|v| v.equivalent != regrade.equivalent);
    Row { trajectory, answer, regrade, changed }
}

/// Metrics of trajectories with answers grouped for majority voting by the verifier, as `cir-eval report` does.
pub fn metrics(trajectories: &[Trajectory]) -> Metrics {
    Metrics::compute(trajectories, &equivalent)
}

/// The metrics per value of every metadata field the trajectories have (`subject`, `level`, …), in field order, as
/// `cir-eval report --by FIELD` computes them.
pub fn breakdowns(trajectories: &[Trajectory]) -> Vec<Breakdown> {
    cir_record::metrics::meta_fields(trajectories)
        .iter()
        .map(|field| Breakdown::compute(trajectories, field, &equivalent))
        .collect()
}

fn equivalent(a: &str, b: &str) -> bool {
    cir_verify::verify(a, b).equivalent
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"schema":1,"dataset":"toy","problem_id":"0","sample":0,"prompt":"1+1?\n","gold":"2","segments":[{"kind":"text","text":"So \\boxed{2.0}"}],"finish":"stop","tool_calls":0,"answer":"2.0","verdict":{"equivalent":false,"reason":"different: string"}}"#;

    #[test]
    fn parses_and_regrades_with_the_verifier() {
        let row = regrade(parse_line(LINE).unwrap());
        assert_eq!(row.answer.as_deref(), Some("2.0"));
        assert!(row.regrade.equivalent, "{:?}", row.regrade);
        assert!(row.changed);
    }

    #[test]
    fn bad_lines_say_why() {
        let msg = |l: &str| parse_line(l).unwrap_err().to_string();
        assert!(msg("{not json").starts_with("not a JSON object"), "{}", msg("{not json"));
        assert!(msg("[1]").starts_with("not a JSON object"));
        assert_eq!(msg(r#"{"dataset":"x"}"#), "no `schema` field: not a cir trajectory");
        assert_eq!(msg(r#"{"schema":3}"#), "unknown schema version 3 (this viewer reads versions 1 to 2)");
        assert!(msg(r#"{"schema":1,"dataset":"x"}"#).contains("missing field"), "{}", msg(r#"{"schema":1}"#));
    }

    #[test]
    fn breakdowns_cover_every_metadata_field() {
        let line = |id: &str, subject: &str, level: u32, ok: bool| {
            LINE.replace(
                r#""problem_id":"0""#,
                &format!(r#""problem_id":"{id}","meta":{{"subject":"{subject}","level":{level}}}"#),
            )
            .replace(r#""equivalent":false"#, &format!(r#""equivalent":{ok}"#))
        };
        let ts: Vec<Trajectory> =
            [line("a", "Algebra", 1, true), line("b", "Algebra", 2, false), line("c", "Geometry", 2, true)]
                .iter()
                .map(|l| parse_line(l).unwrap())
                .collect();
        let b = breakdowns(&ts);
        assert_eq!(b.iter().map(|b| b.field.as_str()).collect::<Vec<_>>(), ["level", "subject"]);
        let subject: Vec<(&str, usize, f64)> =
            b[1].groups.iter().map(|g| (g.dataset.as_str(), g.samples, g.avg)).collect();
        assert_eq!(subject, [("Algebra", 2, 0.5), ("Geometry", 1, 1.0)]);
        assert!(breakdowns(&ts[..0]).is_empty());
    }

    #[test]
    fn metrics_group_equivalent_answers() {
        // Five samples of one problem (gold 2): 2, 2.0 and 4/2 are one answer to the verifier, 0.5 twice another.
        // Grouped by the verifier the right answer has the majority (3 of 5); compared as strings the two 0.5 would
        // win. The verdicts stored are the re-grade's.
        let answers = ["2", "2.0", "\\frac{4}{2}", "0.5", "0.5"];
        let ts: Vec<Trajectory> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let line = LINE
                    .replace("\"sample\":0", &format!("\"sample\":{i}"))
                    .replace("\\boxed{2.0}", &format!("\\boxed{{{}}}", a.replace('\\', "\\\\")));
                let row = regrade(parse_line(&line).unwrap());
                Trajectory { verdict: Some(row.regrade), answer: row.answer, ..row.trajectory }
            })
            .collect();
        assert_eq!(ts.iter().filter(|t| t.is_correct()).count(), 3);
        let m = metrics(&ts);
        assert_eq!((m.overall.problems, m.overall.samples, m.overall.n), (1, 5, 5));
        let maj = |k: u32| m.overall.maj_at_k.iter().find(|a| a.k == k).map(|a| a.value);
        assert_eq!((maj(1), maj(5)), (Some(1.0), Some(1.0)));
        let by_string = cir_record::Metrics::compute(&ts, &|a, b| a == b);
        assert_eq!(by_string.overall.maj_at_k.iter().find(|a| a.k == 5).map(|a| a.value), Some(0.0));
    }
}
