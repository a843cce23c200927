//! Datasets: JSONL files with one problem per line.
//!
//! Fields are configurable ([`Fields`]). Defaults fit the reference's files as they are: the problem in `problem`;
//! the gold answer in `answer` when the line has one (MATH_OAI), else in `solution` (a bare answer, or a worked
//! solution whose last `\boxed{}` is the answer — the [`Grader`] extracts it); the id in `unique_id`, else `id`, else
//! the 0-based line number. The dataset's name is the file stem.
//!
//! A line that is not JSON or lacks a field is skipped and reported ([`Dataset::skipped`]); a file with no usable
//! line is an error that names the fields line 1 does have.
//!
//! Parquet (the training format) is not read: the `parquet` crate with its codecs would be the heaviest dependency of
//! the evaluator for a format the trainer, not the evaluator, consumes. Convert with
//! `python -c "import pandas as p; p.read_parquet('f.parquet').to_json('f.jsonl', orient='records', lines=True)"`
//! and pass `--problem-field`/`--answer-field` for its layout.

use std::path::Path;

use serde_json::Value;

use crate::{Error, Grader};

/// Which fields of a line hold what. `None` means the documented automatic choice.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    /// Field with the problem text; default `problem`.
    pub problem: Option<String>,
    /// Field with the gold answer or worked solution; default `answer`, else `solution`.
    pub answer: Option<String>,
    /// Field with the problem id; default `unique_id`, else `id`, else the line number.
    pub id: Option<String>,
}

/// One problem of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Id, unique within the dataset.
    pub id: String,
    /// Problem statement.
    pub text: String,
    /// Gold answer as graded.
    pub gold: String,
}

/// A loaded dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Name (the file stem).
    pub name: String,
    /// Problems in file order.
    pub problems: Vec<Problem>,
    /// Lines that were skipped: (1-based line number, reason).
    pub skipped: Vec<(usize, String)>,
}

impl Dataset {
    /// Reads a JSONL dataset.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Dataset`] when it has no usable line, or two problems
    /// share an id.
    pub fn load(path: &Path, fields: &Fields, grader: &dyn Grader) -> Result<Dataset, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let name = path.file_stem().map_or_else(|| "dataset".to_owned(), |s| s.to_string_lossy().into_owned());
        let dataset = Dataset::parse(&name, &text, fields, grader);
        let fail = |message: String| Err(Error::Dataset { path: path.into(), message });
        if dataset.problems.is_empty() {
            return match dataset.skipped.first() {
                None => fail("the file is empty: expected one JSON object per line".into()),
                Some((line, reason)) => fail(format!(
                    "no usable line ({} skipped); line {line}: {reason}{}",
                    dataset.skipped.len(),
                    first_fields(&text).map(|f| format!(" (line 1 has fields: {f})")).unwrap_or_default()
                )),
            };
        }
        let mut ids = std::collections::HashSet::new();
        if let Some(p) = dataset.problems.iter().find(|p| !ids.insert(p.id.as_str())) {
            return fail(format!("two problems have the id {:?}; pass --id-field with a unique field", p.id));
        }
        Ok(dataset)
    }

    /// Parses JSONL text; never fails, lines that cannot be used are listed in `skipped`.
    pub fn parse(name: &str, text: &str, fields: &Fields, grader: &dyn Grader) -> Dataset {
        let mut problems = Vec::new();
        let mut skipped = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(index, line, fields, grader) {
                Ok(p) => problems.push(p),
                Err(reason) => skipped.push((index + 1, reason)),
            }
        }
        Dataset { name: name.to_owned(), problems, skipped }
    }
}

fn parse_line(index: usize, line: &str, fields: &Fields, grader: &dyn Grader) -> Result<Problem, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    let get = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let problem_field = fields.problem.as_deref().unwrap_or("problem");
    let text = get(problem_field).ok_or_else(|| format!("no field {problem_field:?} (choose with --problem-field)"))?;
    let answer = match &fields.answer {
        Some(f) => get(f).ok_or_else(|| format!("no field {f:?} (choose with --answer-field)"))?,
        None => get("answer")
            .or_else(|| get("solution"))
            .ok_or("no field \"answer\" or \"solution\" (choose with --answer-field)")?,
    };
    let id = match &fields.id {
        Some(f) => get(f).map(scalar).ok_or_else(|| format!("no field {f:?} (choose with --id-field)"))?,
        None => get("unique_id").or_else(|| get("id")).map_or_else(|| index.to_string(), scalar),
    };
    Ok(Problem { id, text: scalar(text), gold: grader.gold(&scalar(answer)) })
}

/// A string field as it is; numbers and other values as their JSON text.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn first_fields(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text.lines().next()?).ok()?;
    Some(value.as_object()?.keys().cloned().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlaceholderGrader;

    fn shared(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets").join(name)
    }

    #[test]
    fn reference_datasets_load_as_they_are() {
        let g = PlaceholderGrader;
        for (file, count) in [
            ("AIME24.jsonl", 30),
            ("AIME25.jsonl", 30),
            ("MATH_OAI.jsonl", 500),
            ("amc23.jsonl", 40),
            ("OlymMATH-EN-EASY.jsonl", 100),
            ("OlymMATH-EN-HARD.jsonl", 100),
        ] {
            let d = Dataset::load(&shared(file), &Fields::default(), &g).unwrap();
            assert_eq!((d.problems.len(), d.skipped.len()), (count, 0), "{file}");
            assert!(d.problems.iter().all(|p| !p.gold.is_empty() && !p.gold.contains("\\boxed")), "{file}");
        }
        let aime = Dataset::load(&shared("AIME24.jsonl"), &Fields::default(), &g).unwrap();
        assert_eq!(
            (aime.name.as_str(), aime.problems[0].id.as_str(), aime.problems[0].gold.as_str()),
            ("AIME24", "0", "204")
        );
        let math = Dataset::load(&shared("MATH_OAI.jsonl"), &Fields::default(), &g).unwrap();
        assert_eq!(math.problems[0].gold, "\\left( 3, \\frac{\\pi}{2} \\right)");
        assert!(math.problems[0].id.starts_with("test/"), "{}", math.problems[0].id);
        let amc = Dataset::load(&shared("amc23.jsonl"), &Fields::default(), &g).unwrap();
        assert_eq!((amc.problems[1].id.as_str(), amc.problems[1].gold.as_str()), ("1", "36"));
    }

    #[test]
    fn bad_lines_are_skipped_with_reasons() {
        let text = "{\"problem\":\"a\",\"solution\":\"1\"}\nnot json\n\n{\"question\":\"b\",\"solution\":\"2\"}\n[1]\n";
        let d = Dataset::parse("t", text, &Fields::default(), &PlaceholderGrader);
        assert_eq!(d.problems.len(), 1);
        let lines: Vec<usize> = d.skipped.iter().map(|s| s.0).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(d.skipped[1].1.contains("no field \"problem\""), "{:?}", d.skipped);
    }

    #[test]
    fn empty_and_fieldless_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("cir-eval-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.jsonl");
        std::fs::write(&empty, "\n").unwrap();
        let err = Dataset::load(&empty, &Fields::default(), &PlaceholderGrader).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let other = dir.join("other.jsonl");
        std::fs::write(&other, "{\"q\":\"x\",\"a\":\"1\"}\n").unwrap();
        let err = Dataset::load(&other, &Fields::default(), &PlaceholderGrader).unwrap_err().to_string();
        assert!(err.contains("no field \"problem\"") && err.contains("line 1 has fields: a, q"), "{err}");
        let fields = Fields { problem: Some("q".into()), answer: Some("a".into()), id: None };
        assert_eq!(Dataset::load(&other, &fields, &PlaceholderGrader).unwrap().problems[0].gold, "1");
        let dup = dir.join("dup.jsonl");
        std::fs::write(
            &dup,
            "{\"id\":1,\"problem\":\"x\",\"solution\":\"1\"}\n{\"id\":1,\"problem\":\"y\",\"solution\":\"2\"}\n",
        )
        .unwrap();
        let err = Dataset::load(&dup, &Fields::default(), &PlaceholderGrader).unwrap_err().to_string();
        assert!(err.contains("two problems have the id \"1\""), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
