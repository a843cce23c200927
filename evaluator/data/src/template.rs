//! Prompt templates: how a problem becomes the first request.
//!
//! - `cir-qwen-math` (default): the reference's Qwen2.5-Math prompt as raw text for `/v1/completions`, no chat
//!   template (CIR-METHOD §1).
//! - `cir-qwen3`: the same text as one user message for `/v1/chat/completions`, thinking disabled
//!   (`chat_template_kwargs.enable_thinking = false`).
//! - `cir-chat`: the same text as one user message through the model's own chat template (an instruct model in
//!   process, or any chat endpoint), no extra template arguments.
//! - `cir-plain`: the problem alone and a newline, raw text (a model trained on this project's own format, such as
//!   the RL demo's).
//! - a file path: the file's text with `{problem}` replaced, sent to `/v1/completions` (or chat with `--api chat`).

use serde_json::{Map, Value, json};

use crate::Error;

/// The reference's instruction (CIR-METHOD §1); the problem follows on the next line.
pub const CIR_INSTRUCTION: &str = "Please solve the following problem step by step. During your reasoning process, if needed, you can choose to write python code to enhance your reasoning. The code executor will run your code and provide the execution results back to you to support your reasoning process. Please put the final answer within \\boxed{}.\n{problem}";

/// Which OpenAI-compatible endpoint a template talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/v1/completions`: the prompt is raw text, the model continues it.
    Completions,
    /// `/v1/chat/completions`: the prompt is one user message; the response so far is sent back as a final assistant
    /// message with `continue_final_message: true` and `add_generation_prompt: false` (vLLM and SGLang).
    Chat,
}

impl Api {
    /// `completions` or `chat`, as recorded in trajectories.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Completions => "completions",
            Api::Chat => "chat",
        }
    }
}

/// A prompt template.
#[derive(Clone, Debug)]
pub struct Template {
    /// Its name (built-in name or the file path).
    pub name: String,
    /// Text with one `{problem}` placeholder.
    pub text: String,
    /// The endpoint it talks to.
    pub api: Api,
    /// Extra fields merged into every request body (e.g. `chat_template_kwargs`).
    pub extra: Map<String, Value>,
}

impl Template {
    /// A built-in template by name, or a template file.
    ///
    /// # Errors
    /// [`Error::Template`] when the file cannot be read or has no `{problem}`.
    pub fn resolve(name: &str) -> Result<Template, Error> {
        let builtin = |api, extra: Value| Template {
            name: name.to_owned(),
            text: CIR_INSTRUCTION.to_owned(),
            api,
            extra: extra.as_object().cloned().unwrap_or_default(),
        };
        match name {
            "cir-qwen-math" => Ok(builtin(Api::Completions, json!({}))),
            "cir-qwen3" => Ok(builtin(Api::Chat, json!({"chat_template_kwargs": {"enable_thinking": false}}))),
            "cir-chat" => Ok(builtin(Api::Chat, json!({}))),
            "cir-plain" => Ok(Template { text: "{problem}\n".into(), ..builtin(Api::Completions, json!({})) }),
            path => {
                let fail = |message: String| Error::Template { name: path.to_owned(), message };
                let text = std::fs::read_to_string(path).map_err(|e| {
                    fail(format!(
                        "{e} (built-in templates: cir-qwen-math, cir-qwen3, cir-chat, cir-plain; anything else is a file path)"
                    ))
                })?;
                if !text.contains("{problem}") {
                    return Err(fail("the file has no {problem} placeholder".into()));
                }
                Ok(Template { name: path.to_owned(), text, api: Api::Completions, extra: Map::new() })
            }
        }
    }

    /// The prompt for one problem.
    pub fn render(&self, problem: &str) -> String {
        self.text.replacen("{problem}", problem, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_and_files() {
        let t = Template::resolve("cir-qwen-math").unwrap();
        assert_eq!(t.api, Api::Completions);
        let p = t.render("What is 1+1?");
        assert!(p.starts_with("Please solve the following problem step by step."));
        assert!(p.ends_with("within \\boxed{}.\nWhat is 1+1?"), "{p}");
        let q = Template::resolve("cir-qwen3").unwrap();
        assert_eq!(q.api, Api::Chat);
        assert_eq!(q.extra["chat_template_kwargs"]["enable_thinking"], false);
        let err = Template::resolve("/nonexistent/t.txt").unwrap_err().to_string();
        assert!(err.contains("built-in templates"), "{err}");
        let path = std::env::temp_dir().join(format!("cir-data-template-{}.txt", std::process::id()));
        std::fs::write(&path, "Q: {problem}\nA:").unwrap();
        let f = Template::resolve(path.to_str().unwrap()).unwrap();
        assert_eq!(f.render("2+2 {problem}"), "Q: 2+2 {problem}\nA:");
        std::fs::write(&path, "no placeholder").unwrap();
        assert!(Template::resolve(path.to_str().unwrap()).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
