//! Datasets: JSONL files with one problem per line, the training format's Parquet files, or a built-in benchmark
//! (`builtin:NAME`, see [`crate::builtin`]).
//!
//! Fields are configurable ([`Fields`]); a dotted name (`reward_model.ground_truth`) reaches into nested objects.
//! Defaults fit the reference's files as they are:
//! - problem: `problem`, else `prompt`. A `prompt` holding chat messages (the training format) is the whole prompt
//!   already — instruction included — so it is sent as it is: its last user message is the prompt text and the
//!   template only chooses the endpoint.
//! - gold answer: `answer` (MATH_OAI), else `solution` (a bare answer, or a worked solution whose last `\boxed{}` is
//!   the answer — the [`Grader`] extracts it), else `reward_model.ground_truth`.
//! - id: `unique_id`, else `id`, else the 0-based line (row) number (the training files' `extra_info.index` is not
//!   unique in every file).
//! - metadata ([`Problem::meta`], kept in every trajectory's `meta` for reports to group by): every other scalar
//!   field (string, number, boolean) of the line, a nested object's under dotted names (`extra_info.split`); not the
//!   fields read as the problem, the answer and the id, nor the other default problem and answer names (`problem`,
//!   `prompt`, `answer`, `solution`), which hold problem or solution text (MATH500's worked `solution`). MATH500
//!   lines keep `subject` and `level`.
//!
//! The dataset's name is the file stem. A line that is not JSON or lacks a field is skipped and reported
//! ([`Dataset::skipped`]); a file with no usable line is an error that names the fields its first line has.
//!
//! Parquet (`.parquet`) is read with the `parquet` crate's record API, Snappy codec
//! only (what the training files use): about 20 small crates and 1–2 minutes of one-time compilation on 2 cores.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use cir_record::MetaValue;
use cir_rollout::{Grader, Job};

use crate::{Error, Template};

/// Which fields of a line hold what. `None` means the documented automatic choice.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    /// Field with the problem text; default `problem`, else `prompt`.
    pub problem: Option<String>,
    /// Field with the gold answer or worked solution; default `answer`, else `solution`, else
    /// `reward_model.ground_truth`.
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
    /// The complete prompt when the dataset holds one (chat-format `prompt`); the template is not applied to it.
    pub prompt: Option<String>,
    /// The line's own metadata (`subject`, `level`, …; see the [module documentation](self) for which fields),
    /// carried into every trajectory of the problem.
    pub meta: BTreeMap<String, MetaValue>,
}

impl Problem {
    /// A problem to be put through the template, without metadata.
    pub fn new(id: impl Into<String>, text: impl Into<String>, gold: impl Into<String>) -> Problem {
        Problem { id: id.into(), text: text.into(), gold: gold.into(), prompt: None, meta: BTreeMap::new() }
    }
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
    /// A built-in benchmark (`builtin:arith`) or a dataset file ([`Dataset::load`]).
    ///
    /// # Errors
    /// As [`Dataset::load`]; [`Error::Dataset`] for an unknown built-in name, listing the known ones.
    pub fn open(spec: &str, fields: &Fields, grader: &dyn Grader) -> Result<Dataset, Error> {
        match spec.strip_prefix("builtin:") {
            Some(name) => {
                let problems = crate::builtin::problems(name).ok_or_else(|| Error::Dataset {
                    path: spec.into(),
                    message: format!("no built-in benchmark {name:?} (built in: {})", crate::builtin::NAMES.join(", ")),
                })?;
                Ok(Dataset { name: name.to_owned(), problems, skipped: Vec::new() })
            }
            None => Dataset::load(Path::new(spec), fields, grader),
        }
    }

    /// The loop's jobs: `n` samples of every problem, in problem order, each prompt rendered by `template` (a
    /// problem that carries its own prompt keeps it).
    pub fn jobs(&self, template: &Template, n: u32) -> Vec<Job> {
        let mut jobs = Vec::with_capacity(self.problems.len() * n as usize);
        for p in &self.problems {
            let prompt = p.prompt.clone().unwrap_or_else(|| template.render(&p.text));
            for sample in 0..n {
                jobs.push(Job::new(&self.name, &p.id, sample, &prompt, &p.gold).with_meta(p.meta.clone()));
            }
        }
        jobs
    }

    /// Reads a JSONL dataset, or a Parquet one when the name ends in `.parquet`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Dataset`] when it cannot be decoded, has no usable line,
    /// or two problems share an id.
    pub fn load(path: &Path, fields: &Fields, grader: &dyn Grader) -> Result<Dataset, Error> {
        let name = path.file_stem().map_or_else(|| "dataset".to_owned(), |s| s.to_string_lossy().into_owned());
        let fail = |message: String| Err(Error::Dataset { path: path.into(), message });
        let rows: Vec<Result<Value, String>> = if path.extension().is_some_and(|e| e == "parquet") {
            parquet_rows(path)?
        } else {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
            text.lines()
                .map(|line| match line.trim() {
                    "" => Err(String::new()),
                    line => serde_json::from_str(line).map_err(|e| format!("not JSON: {e}")),
                })
                .collect()
        };
        let first_fields = rows
            .iter()
            .find_map(|r| r.as_ref().ok())
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "));
        let dataset = Dataset::from_rows(&name, rows, fields, grader);
        if dataset.problems.is_empty() {
            return match dataset.skipped.first() {
                None => fail("the file is empty: expected one JSON object per line".into()),
                Some((line, reason)) => fail(format!(
                    "no usable line ({} skipped); line {line}: {reason}{}",
                    dataset.skipped.len(),
                    first_fields.map(|f| format!(" (the first line has fields: {f})")).unwrap_or_default()
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
        let rows = text.lines().map(|line| match line.trim() {
            "" => Err(String::new()),
            line => serde_json::from_str(line).map_err(|e| format!("not JSON: {e}")),
        });
        Dataset::from_rows(name, rows.collect(), fields, grader)
    }

    /// Rows as decoded (an empty error marks a blank line, which is ignored).
    fn from_rows(name: &str, rows: Vec<Result<Value, String>>, fields: &Fields, grader: &dyn Grader) -> Dataset {
        let mut problems = Vec::new();
        let mut skipped = Vec::new();
        for (index, row) in rows.into_iter().enumerate() {
            match row.and_then(|value| parse_row(index, &value, fields, grader)) {
                Ok(p) => problems.push(p),
                Err(reason) if reason.is_empty() => {}
                Err(reason) => skipped.push((index + 1, reason)),
            }
        }
        Dataset { name: name.to_owned(), problems, skipped }
    }
}

fn parquet_rows(path: &Path) -> Result<Vec<Result<Value, String>>, Error> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let fail = |message: String| Error::Dataset { path: path.into(), message };
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
    let reader = SerializedFileReader::new(file).map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
    let rows = reader.get_row_iter(None).map_err(|e| fail(format!("cannot read rows: {e}")))?;
    Ok(rows.map(|row| row.map(|r| r.to_json_value()).map_err(|e| format!("unreadable row: {e}"))).collect())
}

/// The value at a field name: the literal key, else a dotted path into nested objects.
fn lookup<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let found = value.get(name).or_else(|| name.split('.').try_fold(value, |v, key| v.get(key)));
    found.filter(|v| !v.is_null())
}

fn parse_row(index: usize, value: &Value, fields: &Fields, grader: &dyn Grader) -> Result<Problem, String> {
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    // (field name, value) of the chosen field, else of the first default present.
    let pick = |chosen: &Option<String>, defaults: &[&str], flag: &str| match chosen {
        Some(f) => {
            lookup(value, f).map(|v| (f.clone(), v)).ok_or_else(|| format!("no field {f:?} (choose with {flag})"))
        }
        None => defaults.iter().find_map(|f| lookup(value, f).map(|v| ((*f).to_owned(), v))).ok_or_else(|| {
            let names: Vec<String> = defaults.iter().map(|d| format!("{d:?}")).collect();
            format!("no field {} (choose with {flag})", names.join(" or "))
        }),
    };
    let (text_field, text) = pick(&fields.problem, &["problem", "prompt"], "--problem-field")?;
    let (answer_field, answer) =
        pick(&fields.answer, &["answer", "solution", "reward_model.ground_truth"], "--answer-field")?;
    let id = match &fields.id {
        Some(_) => Some(pick(&fields.id, &[], "--id-field")?),
        None => pick(&None, &["unique_id", "id"], "").ok(),
    };
    let mut skip = vec![text_field.as_str(), answer_field.as_str()];
    skip.extend(TEXT_FIELDS);
    skip.extend(id.as_ref().map(|(f, _)| f.as_str()));
    let mut meta = BTreeMap::new();
    metadata(value, "", &skip, &mut meta);
    let id = id.map_or_else(|| index.to_string(), |(_, v)| scalar(v));
    let gold = grader.gold(&scalar(answer));
    match text {
        Value::Array(messages) => {
            let content = messages
                .iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
                .and_then(|m| m.get("content"))
                .and_then(Value::as_str)
                .ok_or("the prompt holds no user message with text content")?;
            Ok(Problem { id, text: content.to_owned(), gold, prompt: Some(content.to_owned()), meta })
        }
        text => Ok(Problem { id, text: scalar(text), gold, prompt: None, meta }),
    }
}

/// The default problem and answer field names: never metadata, since they hold problem or solution text even when
/// another field was read (MATH500's worked `solution` beside its `answer`).
const TEXT_FIELDS: [&str; 4] = ["problem", "prompt", "answer", "solution"];

/// Adds the scalar fields of `value` (an object) to `meta` under `prefix` + their name, descending into nested
/// objects with dotted names; `skip` names fields (full dotted names) to leave out. Arrays and nulls are not
/// metadata.
fn metadata(value: &Value, prefix: &str, skip: &[&str], meta: &mut BTreeMap<String, MetaValue>) {
    let Some(object) = value.as_object() else { return };
    for (key, v) in object {
        let name = format!("{prefix}{key}");
        if skip.contains(&name.as_str()) {
            continue;
        }
        let scalar = match v {
            Value::String(s) => MetaValue::Text(s.clone()),
            Value::Bool(b) => MetaValue::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => MetaValue::Int(i),
                (None, Some(x)) => MetaValue::Float(x),
                (None, None) => MetaValue::Text(n.to_string()),
            },
            Value::Object(_) => {
                metadata(v, &format!("{name}."), skip, meta);
                continue;
            }
            Value::Array(_) | Value::Null => continue,
        };
        meta.insert(name, scalar);
    }
}

/// A string field as it is; numbers and other values as their JSON text.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cir_rollout::Verifier;

    fn shared(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets").join(name)
    }

    #[test]
    fn reference_datasets_load_as_they_are() {
        let g = Verifier::default();
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
    fn metadata_is_every_other_scalar_field_of_the_line() {
        let g = Verifier::default();
        let text = |m: &BTreeMap<String, MetaValue>, k: &str| m.get(k).map(ToString::to_string);
        // MATH500: subject and level on every line, as the file has them; not the problem, the answer, the worked
        // solution or the id.
        let math = Dataset::load(&shared("MATH_OAI.jsonl"), &Fields::default(), &g).unwrap();
        let lines = std::fs::read_to_string(shared("MATH_OAI.jsonl")).unwrap();
        for (p, line) in math.problems.iter().zip(lines.lines()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let expected = BTreeMap::from([
                ("level".to_owned(), MetaValue::Int(v["level"].as_i64().unwrap())),
                ("subject".to_owned(), MetaValue::Text(v["subject"].as_str().unwrap().to_owned())),
            ]);
            assert_eq!(p.meta, expected, "{}", p.id);
        }
        assert_eq!(text(&math.problems[0].meta, "subject").as_deref(), Some("Precalculus"));
        for (file, keys) in [
            ("AIME24.jsonl", &[][..]),
            ("amc23.jsonl", &["url"][..]),
            ("OlymMATH-EN-EASY.jsonl", &["subject"][..]),
            (
                "math500-train-format.parquet",
                &["ability", "data_source", "extra_info.index", "extra_info.split", "reward_model.style"][..],
            ),
        ] {
            let d = Dataset::load(&shared(file), &Fields::default(), &g).unwrap();
            let found: Vec<&str> = d.problems[0].meta.keys().map(String::as_str).collect();
            assert_eq!(found, keys, "{file}");
        }
        // Chosen fields: nested objects under dotted names, arrays and nulls left out, the default text fields left
        // out, the id left out when it is the id.
        let line = r#"{"q":"x","a":"1","id":7,"tags":["t"],"note":null,"info":{"split":"test","w":0.5,"deep":{"ok":true}},"problem":"text","solution":"worked","n":-2}"#;
        let fields = Fields { problem: Some("q".into()), answer: Some("a".into()), id: None };
        let d = Dataset::parse("t", line, &fields, &g);
        let meta = &d.problems[0].meta;
        assert_eq!(
            meta.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            ["info.deep.ok=true", "info.split=test", "info.w=0.5", "n=-2"]
        );
        assert_eq!((meta["n"].clone(), meta["info.w"].clone()), (MetaValue::Int(-2), MetaValue::Float(0.5)));
        let chosen_id = Fields { id: Some("n".into()), ..fields };
        let d2 = Dataset::parse("t", line, &chosen_id, &g);
        assert_eq!((d2.problems[0].id.as_str(), text(&d2.problems[0].meta, "id").as_deref()), ("-2", Some("7")));
        // Every job of a problem carries its metadata into the loop.
        let jobs = d.jobs(&Template::resolve("cir-chat").unwrap(), 3);
        assert!(jobs.iter().all(|j| &j.meta == meta), "{jobs:?}");
    }

    #[test]
    fn bad_lines_are_skipped_with_reasons() {
        let text = "{\"problem\":\"a\",\"solution\":\"1\"}\nnot json\n\n{\"question\":\"b\",\"solution\":\"2\"}\n[1]\n";
        let d = Dataset::parse("t", text, &Fields::default(), &Verifier::default());
        assert_eq!(d.problems.len(), 1);
        let lines: Vec<usize> = d.skipped.iter().map(|s| s.0).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(d.skipped[1].1.contains("no field \"problem\""), "{:?}", d.skipped);
    }

    #[test]
    fn training_format_parquet_loads_with_its_chat_prompt() {
        let g = Verifier::default();
        let math = Dataset::load(&shared("math500-train-format.parquet"), &Fields::default(), &g).unwrap();
        assert_eq!((math.problems.len(), math.skipped.len()), (500, 0));
        let p = &math.problems[0];
        assert_eq!((p.id.as_str(), p.gold.as_str()), ("0", "\\left( 3, \\frac{\\pi}{2} \\right)"));
        let prompt = p.prompt.as_deref().unwrap();
        assert!(prompt.starts_with("Please solve the following problem step by step."), "{prompt}");
        assert!(prompt.ends_with("$0 \\le \\theta < 2 \\pi.$"), "{prompt}");
        // The chat prompt is the reference's template applied to the JSONL problem.
        let jsonl = Dataset::load(&shared("MATH_OAI.jsonl"), &Fields::default(), &g).unwrap();
        let t = Template::resolve("cir-qwen-math").unwrap();
        assert_eq!(prompt, t.render(&jsonl.problems[0].text));
        let aime = Dataset::load(&shared("aime24-train-format.parquet"), &Fields::default(), &g).unwrap();
        // The training file repeats each of the 30 problems 16 times (one row per rollout).
        assert_eq!((aime.problems.len(), aime.problems[0].gold.as_str()), (480, "204"));
        let dotted = Fields { answer: Some("reward_model.style".into()), ..Fields::default() };
        assert_eq!(
            Dataset::load(&shared("aime24-train-format.parquet"), &dotted, &g).unwrap().problems[0].gold,
            "rule"
        );
    }

    #[test]
    fn built_in_benchmarks_open_by_name() {
        let g = Verifier::default();
        let d = Dataset::open("builtin:arith", &Fields::default(), &g).unwrap();
        assert_eq!((d.name.as_str(), d.problems.len()), ("arith", 40));
        let err = Dataset::open("builtin:nope", &Fields::default(), &g).unwrap_err().to_string();
        assert!(err.contains("built in: arith, arith-train"), "{err}");
        let jobs = d.jobs(&Template::resolve("cir-chat").unwrap(), 3);
        assert_eq!(jobs.len(), 120);
        assert_eq!((jobs[4].problem_id.as_str(), jobs[4].sample), ("1", 1));
    }

    #[test]
    fn empty_and_fieldless_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("cir-data-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.jsonl");
        std::fs::write(&empty, "\n").unwrap();
        let err = Dataset::load(&empty, &Fields::default(), &Verifier::default()).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let other = dir.join("other.jsonl");
        std::fs::write(&other, "{\"q\":\"x\",\"a\":\"1\"}\n").unwrap();
        let err = Dataset::load(&other, &Fields::default(), &Verifier::default()).unwrap_err().to_string();
        assert!(
            err.contains("no field \"problem\" or \"prompt\"") && err.contains("first line has fields: a, q"),
            "{err}"
        );
        let fields = Fields { problem: Some("q".into()), answer: Some("a".into()), id: None };
        assert_eq!(Dataset::load(&other, &fields, &Verifier::default()).unwrap().problems[0].gold, "1");
        let dup = dir.join("dup.jsonl");
        std::fs::write(
            &dup,
            "{\"id\":1,\"problem\":\"x\",\"solution\":\"1\"}\n{\"id\":1,\"problem\":\"y\",\"solution\":\"2\"}\n",
        )
        .unwrap();
        let err = Dataset::load(&dup, &Fields::default(), &Verifier::default()).unwrap_err().to_string();
        assert!(err.contains("two problems have the id \"1\""), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
