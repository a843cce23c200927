//! `cir-eval exec` end to end: the built binary, its output, exit statuses and batch mode.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cir_eval(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cir-eval"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cir-eval starts");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("writes stdin");
    drop(input);
    child.wait_with_output().expect("cir-eval finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exec_prints_and_exits_zero() {
    let out = cir_eval(&["exec", "-c", "print(1+1)"], None);
    assert_eq!(text(&out.stdout), "2\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn exec_python_error_exits_one() {
    let out = cir_eval(&["exec", "-c", "1/0"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ZeroDivisionError: division by zero"));
}

#[test]
fn exec_timeout_exits_124() {
    let out = cir_eval(&["exec", "--timeout", "0.5", "-c", "while True: pass"], None);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
}

#[test]
fn exec_other_limit_exits_125() {
    let out = cir_eval(&["exec", "-c", "x = [bytearray(256 * 1024**2) for _ in range(32)]"], None);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
}

#[test]
fn exec_reads_stdin_and_prints_json() {
    let out = cir_eval(&["exec", "--json", "--seed", "3", "-"], Some("import random\nprint(random.random())"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(value["status"], "ok");
    assert_eq!(value["truncated"], false);
    assert!(value["duration_ms"].is_number());
    let again = cir_eval(&["exec", "--json", "--seed", "3", "-"], Some("import random\nprint(random.random())"));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("one JSON object");
    assert_eq!(value["stdout"], again["stdout"]);
}

#[test]
fn exec_refuses_invalid_utf8_file() {
    let dir = std::env::temp_dir().join(format!("cir-exec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.py");
    std::fs::write(&path, b"print('\xff')").unwrap();
    let out = cir_eval(&["exec", path.to_str().unwrap()], None);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("not valid UTF-8"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exec_batch_keeps_order_and_survives_bad_lines() {
    let dir = std::env::temp_dir().join(format!("cir-exec-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.jsonl");
    let output = dir.join("out.jsonl");
    let mut lines: Vec<String> =
        (0..10).map(|i| serde_json::json!({"id": i, "code": format!("print({i} * 2)")}).to_string()).collect();
    lines.insert(3, "{not json".into());
    lines.push(serde_json::json!({"id": "empty", "code": ""}).to_string());
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out =
        cir_eval(&["exec", "--batch", input.to_str().unwrap(), "--out", output.to_str().unwrap(), "--jobs", "2"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect();
    assert_eq!(records.len(), 12);
    assert_eq!(records[3]["status"], "error");
    assert!(records[3]["error"].as_str().unwrap().contains("input line 4"));
    let ok: Vec<_> = records.iter().filter(|r| r["status"] == "ok").collect();
    for (i, record) in ok.iter().enumerate() {
        assert_eq!(record["id"], i);
        assert_eq!(record["stdout"], format!("{}\n", i * 2));
    }
    assert_eq!(records[11]["id"], "empty");
    assert_eq!(records[11]["status"], "error");
    std::fs::remove_dir_all(&dir).unwrap();
}
