// Parses a trajectory file off the main thread with the wasm module: each line is schema-checked and re-graded by
// cir-web's `Loader`; rows go back in batches so the list fills while the rest loads; the file's metrics (overall and per metadata field) come last.
import init, { Loader } from "./wasm/cir_web.js";
import type { BadLine, FromWorker, Row, ToWorker } from "./types";

/** Lines per batch posted to the page: small enough to show progress, large enough to keep messages few. */
const BATCH = 500;

const post = (msg: FromWorker) => (self as unknown as Worker).postMessage(msg);

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  try {
    await init();
    const msg = event.data;
    let text: string;
    if (msg.kind === "file") {
      text = await msg.file.text();
    } else {
      const response = await fetch(msg.url);
      if (!response.ok) throw new Error(`${msg.url}: HTTP ${response.status}`);
      text = await response.text();
    }
    load(text);
  } catch (e) {
    post({ kind: "fatal", message: String(e instanceof Error ? e.message : e) });
  }
};

function load(text: string) {
  const loader = new Loader();
  let rows: Row[] = [];
  let errors: BadLine[] = [];
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    line += 1;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw === "") continue;
    try {
      const row = JSON.parse(loader.pushLine(raw)) as Omit<Row, "line">;
      rows.push({ ...row, line });
    } catch (e) {
      errors.push({ line, message: String(e instanceof Error ? e.message : e) });
    }
    if (rows.length + errors.length >= BATCH) {
      post({ kind: "rows", rows, errors, bytes: start, total: text.length });
      rows = [];
      errors = [];
    }
  }
  post({ kind: "rows", rows, errors, bytes: text.length, total: text.length });
  const empty = loader.isEmpty();
  post({
    kind: "done",
    metrics: empty ? null : JSON.parse(loader.metrics()),
    breakdowns: empty ? [] : JSON.parse(loader.breakdowns()),
  });
  loader.free();
}
