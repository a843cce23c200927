"""The official `openai` client against `cir-train serve`: models, completions, chat completions, streaming for
both, and the vLLM fields cir-eval relies on (stop_reason, token ids). Exits non-zero on the first failure."""

import sys

import openai

url = sys.argv[1]
client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")

models = client.models.list()
model = models.data[0].id
print("models:", [m.id for m in models.data])

question = "What is the capital of France?"
prompt = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"

c = client.completions.create(model=model, prompt=prompt, max_tokens=30, temperature=0,
                              extra_body={"return_token_ids": True})
choice = c.choices[0]
assert "Paris" in choice.text, choice.text
assert "<|im_end|>" not in choice.text, "special tokens are never part of the text"
assert choice.finish_reason == "stop", choice.finish_reason
assert choice.model_extra.get("stop_reason", "missing") is None, choice.model_extra
assert choice.model_extra["token_ids"][-1] == 2, "the end-of-turn token is sampled"
assert c.usage.completion_tokens == len(choice.model_extra["token_ids"])
print("completions:", repr(choice.text))

stop = client.completions.create(model=model, prompt=prompt, max_tokens=30, temperature=0, stop=["Paris"])
assert stop.choices[0].model_extra["stop_reason"] == "Paris", stop.choices[0]
assert "Paris" not in stop.choices[0].text

chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                      max_tokens=30, temperature=0, logprobs=True)
message = chat.choices[0].message.content
assert "Paris" in message, message
assert chat.choices[0].logprobs.content and all(t.logprob <= 0 for t in chat.choices[0].logprobs.content)
print("chat:", repr(message))

streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(
    model=model, prompt=prompt, max_tokens=30, temperature=0, stream=True) if chunk.choices)
assert streamed == choice.text, (streamed, choice.text)

parts = []
finish = None
for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                            max_tokens=30, temperature=0, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.choices:
        parts.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    elif chunk.usage is not None:
        print("stream usage:", chunk.usage.completion_tokens)
assert "".join(parts) == message, (parts, message)
assert finish == "stop", finish
print("streaming: ok,", len(parts), "chunks")

try:
    client.completions.create(model=model, prompt="x", max_tokens=10**6)
    raise AssertionError("a request past the context must fail")
except openai.BadRequestError as e:
    assert "maximum context length" in str(e), e
print("openai client: all checks passed")
