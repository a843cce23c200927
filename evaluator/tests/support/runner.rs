//! A scripted code runner for tests of the loop itself: a few fixed programs with known results, and integer
//! variables for stateful sessions.

use std::collections::HashMap;

use cir_record::{Execution, Status};
use cir_rollout::{CodeRunner, CodeSession, RunnerError};

/// Fresh namespace per `exec`; one namespace per session.
pub struct ScriptedRunner;

/// A stateful session of [`ScriptedRunner`]; a timeout ends it, as it ends a real interpreter.
#[derive(Default)]
pub struct ScriptedSession {
    vars: HashMap<String, i64>,
    ended: bool,
}

impl CodeRunner for ScriptedRunner {
    type Session = ScriptedSession;
    fn exec(&self, code: &str, _seed: u64) -> Result<Execution, RunnerError> {
        ScriptedSession::default().exec(code)
    }
    fn session(&self, _seed: u64) -> Result<ScriptedSession, RunnerError> {
        Ok(ScriptedSession::default())
    }
}

impl CodeSession for ScriptedSession {
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError> {
        if code.trim().is_empty() {
            return Err("empty code".into());
        }
        let mut out = String::new();
        for line in code.lines() {
            let line = line.trim();
            if line == "1/0" {
                return Ok(error("ZeroDivisionError: division by zero", &out));
            } else if line == "while True: pass" {
                self.ended = true;
                return Ok(Execution { stdout: out, ..Execution::new(Status::Timeout) });
            } else if line == "print(2+3)" {
                out.push_str("5\n");
            } else if let Some((name, value)) = line.split_once(" = ") {
                self.vars.insert(name.to_owned(), value.parse().unwrap_or(0));
            } else if let Some(name) = line.strip_prefix("print(").and_then(|l| l.strip_suffix(')')) {
                match self.vars.get(name) {
                    Some(v) => out.push_str(&format!("{v}\n")),
                    None => return Ok(error(&format!("NameError: name '{name}' is not defined"), &out)),
                }
            }
        }
        Ok(Execution { stdout: out, duration_ms: 0.1, ..Execution::new(Status::Ok) })
    }

    fn is_open(&self) -> bool {
        !self.ended
    }
}

fn error(message: &str, stdout: &str) -> Execution {
    Execution { stdout: stdout.into(), error: Some(message.into()), ..Execution::new(Status::Error) }
}
