//! The model's chat template: how an instruct model expects a conversation to be laid out (`<|im_start|>user\n…`).
//! Hugging Face ships it as Jinja in `tokenizer_config.json` (`chat_template`) or in GGUF metadata
//! (`tokenizer.chat_template`); it is rendered here with minijinja and its Python-compatibility methods
//! (`.strip()`, `.startswith()`, …), as transformers' `apply_chat_template` renders it.

use minijinja::{Environment, Error as JinjaError, ErrorKind, Value};
use serde_json::{Map, Value as Json, json};

use crate::error::{Error, Result};

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").field("bos", &self.bos).field("eos", &self.eos).finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source`; `bos`/`eos` are the texts the template may refer to as `bos_token`/`eos_token`.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the template does not compile.
    pub fn new(source: &str, bos: Option<String>, eos: Option<String>) -> Result<Self> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> std::result::Result<Value, JinjaError> {
            Err(JinjaError::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| Error::Tokenizer(format!("the chat template does not compile: {e}")))?;
        Ok(Self { env, bos: bos.unwrap_or_default(), eos: eos.unwrap_or_default() })
    }

    /// The prompt for one user message, ready for the assistant's reply (`add_generation_prompt`), with the
    /// template's extra arguments (`enable_thinking: false`, …).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when rendering fails (the template raised an exception, a method it needs is missing).
    pub fn render_user(&self, user: &str, kwargs: &Map<String, Json>) -> Result<String> {
        self.render(&[json!({"role": "user", "content": user})], Ending::GenerationPrompt, kwargs)
    }

    /// A whole conversation (`messages` as OpenAI sends them, `{role, content}`), ending as `ending` says.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when rendering fails, or when continuing a final message that is not in the rendered
    /// text.
    pub fn render(&self, messages: &[Json], ending: Ending, kwargs: &Map<String, Json>) -> Result<String> {
        let mut ctx = json!({
            "messages": messages,
            "add_generation_prompt": ending == Ending::GenerationPrompt,
            "bos_token": self.bos,
            "eos_token": self.eos,
        });
        if let Some(map) = ctx.as_object_mut() {
            for (k, v) in kwargs {
                map.insert(k.clone(), v.clone());
            }
        }
        let template = self.env.get_template("chat").map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut text = template
            .render(Value::from_serialize(&ctx))
            .map_err(|e| Error::Tokenizer(format!("rendering the chat template: {e}")))?;
        if ending == Ending::ContinueFinal {
            // As transformers does: cut right after the final message's content, dropping its end-of-turn markup.
            let last = messages.last().and_then(|m| m.get("content")).and_then(Json::as_str).unwrap_or("");
            let at = text.rfind(last).filter(|_| !last.trim().is_empty()).ok_or_else(|| {
                Error::Tokenizer("continue_final_message: the final message is not in the rendered template".into())
            })?;
            text.truncate(at + last.len());
        }
        Ok(text)
    }
}

/// How a rendered conversation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every message closed, nothing more (`add_generation_prompt: false`).
    Closed,
    /// The assistant's turn opened for a reply (`add_generation_prompt: true`).
    GenerationPrompt,
    /// The final (assistant) message left open so generation continues it (`continue_final_message: true`).
    ContinueFinal,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are helpful<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    #[test]
    fn chatml_renders_a_user_turn_for_generation() {
        let t = ChatTemplate::new(CHATML, None, Some("<|im_end|>".into())).unwrap();
        assert_eq!(
            t.render_user("2+2?", &Map::new()).unwrap(),
            "<|im_start|>system\nYou are helpful<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_final_assistant_message_can_be_continued() {
        let t = ChatTemplate::new(CHATML, None, None).unwrap();
        let messages = [json!({"role": "user", "content": "Q"}), json!({"role": "assistant", "content": "Partial"})];
        let text = t.render(&messages, Ending::ContinueFinal, &Map::new()).unwrap();
        assert!(text.ends_with("<|im_start|>assistant\nPartial"), "{text}");
        let closed = t.render(&messages, Ending::Closed, &Map::new()).unwrap();
        assert!(closed.ends_with("Partial<|im_end|>\n"), "{closed}");
    }

    #[test]
    fn python_methods_kwargs_and_exceptions() {
        let src = "{{ messages[0].content.strip() }}|{% if enable_thinking is defined and not enable_thinking %}no-think{% endif %}{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}";
        let t = ChatTemplate::new(src, None, None).unwrap();
        let mut kwargs = Map::new();
        kwargs.insert("enable_thinking".into(), json!(false));
        assert_eq!(t.render_user("  hi  ", &kwargs).unwrap(), "hi|no-think");
        assert!(ChatTemplate::new("{% if %}", None, None).unwrap_err().to_string().contains("does not compile"));
        let raising = ChatTemplate::new("{{ raise_exception('nope') }}", None, None).unwrap();
        assert!(raising.render_user("x", &Map::new()).unwrap_err().to_string().contains("nope"));
    }
}
