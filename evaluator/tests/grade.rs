//! `cir-eval grade` end to end: exit codes, JSON output, case files with malformed lines.

use std::process::Command;

fn cir_eval() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cir-eval"))
}

#[test]
fn pair_exit_codes() {
    let eq = cir_eval().args(["grade", "--pred", "\\frac12", "--gold", "0.5"]).output().unwrap();
    assert_eq!(eq.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&eq.stdout).trim(), "equal: exact");
    let ne = cir_eval().args(["grade", "--pred", "x", "--gold", "y", "--json"]).output().unwrap();
    assert_eq!(ne.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&ne.stdout).unwrap();
    assert_eq!(v["equivalent"], false);
    assert_eq!(v["reason"], "different");
    let usage = cir_eval().args(["grade", "--pred", "x"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn cases_file_with_malformed_lines() {
    let dir = std::env::temp_dir().join(format!("cir-grade-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.jsonl");
    let out = dir.join("out.jsonl");
    std::fs::write(
        &input,
        "{\"pred\":\"1/2\",\"gold\":\"0.5\",\"expected\":true}\nnot json\n{\"pred\":3}\n{\"pred\":\"2\",\"gold\":\"3\",\"expected\":true}\n",
    )
    .unwrap();
    let r = cir_eval().args(["grade", "--cases"]).arg(&input).arg("--out").arg(&out).output().unwrap();
    assert_eq!(r.status.code(), Some(0));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("in.jsonl:2: skipped") && err.contains("in.jsonl:3: skipped"), "{err}");
    assert!(err.contains("agreement with expected: 1/2 (50.0%)"), "{err}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], true);
    assert_eq!(lines[1]["reason"], "different");
    assert!(lines[0]["micros"].as_f64().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn issue_17_conventions_are_flags() {
    let code = |args: &[&str]| cir_eval().arg("grade").args(args).output().unwrap().status.code();
    // Default: no false accepts between two decimals or two percents.
    assert_eq!(code(&["--pred", "3.14", "--gold", "3.1"]), Some(1));
    assert_eq!(code(&["--pred", "0.4\\%", "--gold", "40\\%"]), Some(1));
    // The former conventions, by name.
    assert_eq!(code(&["--pred", "3.14", "--gold", "3.1", "--coarser-decimal-precision"]), Some(0));
    assert_eq!(code(&["--pred", "0.4\\%", "--gold", "40\\%", "--percent", "each-side"]), Some(0));
}
