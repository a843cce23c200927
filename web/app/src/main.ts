// The viewer page: loading (picker, drag and drop, `?src=`), the filtered virtual list, one trajectory, the summary.
import "katex/dist/katex.min.css";
import "./style.css";
import { bars, line } from "./charts";
import { escape, markdown, python } from "./render";
import type { BadLine, Breakdown, DatasetMetrics, FromWorker, Metrics, Row, Segment, ToWorker } from "./types";

/** Height of one list row in pixels; the list renders only the rows in view (plus a margin). */
const ROW_HEIGHT = 52;
/** Bad lines listed in the error panel; the count covers them all. */
const MAX_ERRORS_SHOWN = 200;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const state = {
  rows: [] as Row[],
  errors: [] as BadLine[],
  metrics: null as Metrics | null,
  breakdowns: [] as Breakdown[],
  visible: [] as Row[],
  selected: null as Row | null,
  worker: null as Worker | null,
  name: "",
};

// ---- loading ------------------------------------------------------------------------------------------------------

function load(source: ToWorker, name: string) {
  state.worker?.terminate();
  Object.assign(state, { rows: [], errors: [], metrics: null, breakdowns: [], selected: null, name });
  $("detail").innerHTML = `<p class="hint">Select a trajectory.</p>`;
  const datasetSelect = $<HTMLSelectElement>("f-dataset");
  datasetSelect.length = 1;
  setStatus(`Loading ${name}…`);
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  state.worker = worker;
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const msg = event.data;
    if (msg.kind === "rows") {
      state.rows.push(...msg.rows);
      state.errors.push(...msg.errors);
      setStatus(`Loading ${name}… ${Math.round((100 * msg.bytes) / Math.max(msg.total, 1))}%`);
      refresh();
    } else if (msg.kind === "done") {
      state.metrics = msg.metrics;
      state.breakdowns = msg.breakdowns;
      worker.terminate();
      const changed = state.rows.filter((r) => r.changed).length;
      setStatus(
        `${name}: ${state.rows.length} trajectories` +
          (state.errors.length ? `, ${state.errors.length} bad lines skipped` : "") +
          (changed ? `, ${changed} verdict${changed === 1 ? "" : "s"} changed on re-grade` : ""),
        "loaded",
      );
      refresh();
      if (!$("summary").hidden) renderSummary();
    } else {
      setStatus(`Could not load ${name}: ${msg.message}`, "failed");
      worker.terminate();
    }
  };
  worker.onerror = (e) => setStatus(`Could not load ${name}: ${e.message}`, "failed");
  worker.postMessage(source);
}

function setStatus(text: string, phase = "loading") {
  const el = $("status");
  el.textContent = text;
  el.dataset.phase = phase;
}

function renderErrors() {
  const panel = $<HTMLDetailsElement>("errors");
  panel.hidden = state.errors.length === 0;
  if (panel.hidden) return;
  panel.querySelector("summary")!.textContent =
    `${state.errors.length} line${state.errors.length === 1 ? "" : "s"} could not be read (the rest loaded)`;
  panel.querySelector("ol")!.innerHTML = state.errors
    .slice(0, MAX_ERRORS_SHOWN)
    .map((e) => `<li>line ${e.line}: ${escape(e.message)}</li>`)
    .join("");
}

$<HTMLInputElement>("file").addEventListener("change", (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) load({ kind: "file", file }, file.name);
});
let dragDepth = 0;
window.addEventListener("dragenter", (e) => {
  e.preventDefault();
  dragDepth += 1;
  $("drop").hidden = false;
});
window.addEventListener("dragleave", () => {
  dragDepth -= 1;
  if (dragDepth <= 0) $("drop").hidden = true;
});
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  const file = e.dataTransfer?.files[0];
  if (file) load({ kind: "file", file }, file.name);
});

// ---- filtering and the virtual list -------------------------------------------------------------------------------

const filterIds = ["search", "f-dataset", "f-correct", "f-tools", "f-error", "f-budget", "f-changed", "sort"];
for (const id of filterIds) $(id).addEventListener("input", () => refresh());

const hadExecutionProblem = (r: Row) =>
  r.trajectory.segments.some((s) => s.kind === "output" && s.execution.status !== "ok");
const stored = (r: Row) => r.trajectory.verdict?.equivalent === true;
const length = (r: Row) => r.trajectory.segments.reduce((n, s) => n + segmentText(s).length, 0);
const segmentText = (s: Segment) => (s.kind === "output" ? s.feedback : s.text);

function refresh() {
  const datasetSelect = $<HTMLSelectElement>("f-dataset");
  const known = new Set(Array.from(datasetSelect.options, (o) => o.value));
  for (const d of new Set(state.rows.map((r) => r.trajectory.dataset))) {
    if (!known.has(d)) datasetSelect.add(new Option(d, d));
  }
  const q = $<HTMLInputElement>("search").value.trim().toLowerCase();
  const dataset = datasetSelect.value;
  const correct = $<HTMLSelectElement>("f-correct").value;
  const tools = $<HTMLSelectElement>("f-tools").value;
  const onlyError = $<HTMLInputElement>("f-error").checked;
  const onlyBudget = $<HTMLInputElement>("f-budget").checked;
  const onlyChanged = $<HTMLInputElement>("f-changed").checked;
  let rows = state.rows.filter((r) => {
    const t = r.trajectory;
    if (dataset && t.dataset !== dataset) return false;
    if (correct && (correct === "correct") !== stored(r)) return false;
    if (tools && (tools === "3+" ? t.tool_calls < 3 : t.tool_calls !== Number(tools))) return false;
    if (onlyError && !hadExecutionProblem(r)) return false;
    if (onlyBudget && t.finish !== "budget_exhausted") return false;
    if (onlyChanged && !r.changed) return false;
    if (q) {
      const hay = (t.prompt + "\n" + t.segments.map((s) => (s.kind === "code" ? s.code : s.kind === "text" ? s.text : "")).join("\n")).toLowerCase();
      if (!hay.includes(q) && !t.problem_id.toLowerCase().includes(q)) return false;
    }
    return true;
  });
  const sort = $<HTMLSelectElement>("sort").value;
  if (sort === "length") rows = rows.map((r) => [length(r), r] as const).sort((a, b) => b[0] - a[0]).map((p) => p[1]);
  if (sort === "tools") rows = [...rows].sort((a, b) => b.trajectory.tool_calls - a.trajectory.tool_calls);
  state.visible = rows;
  $("count").textContent = `${rows.length} of ${state.rows.length} shown`;
  $("list-inner").style.height = `${rows.length * ROW_HEIGHT}px`;
  renderErrors();
  renderList();
}

function badge(text: string, cls: string, title = "") {
  return `<span class="badge ${cls}"${title ? ` title="${escape(title)}"` : ""}>${escape(text)}</span>`;
}

function renderList() {
  const list = $("list");
  const first = Math.max(0, Math.floor(list.scrollTop / ROW_HEIGHT) - 5);
  const last = Math.min(state.visible.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW_HEIGHT) + 5);
  let html = "";
  for (let i = first; i < last; i++) {
    const r = state.visible[i];
    const t = r.trajectory;
    const sel = r === state.selected ? " selected" : "";
    html += `<div class="row${sel}" data-i="${i}" style="top:${i * ROW_HEIGHT}px">` +
      `<div class="row-title">${escape(t.dataset)} / ${escape(t.problem_id)} #${t.sample}</div><div class="row-badges">` +
      (t.verdict ? badge(t.verdict.equivalent ? "correct" : "wrong", t.verdict.equivalent ? "ok" : "bad") : badge("ungraded", "muted")) +
      (r.changed ? badge("≠ re-grade", "flag") : "") +
      badge(`${t.tool_calls} tools`, "muted") +
      (t.finish !== "stop" ? badge(t.finish.replace("_", " "), "warn") : "") +
      (hadExecutionProblem(r) ? badge("exec error", "warn") : "") +
      `</div></div>`;
  }
  $("list-inner").innerHTML = html;
}

$("list").addEventListener("scroll", () => renderList());
$("list").addEventListener("click", (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>(".row");
  if (!row) return;
  select(state.visible[Number(row.dataset.i)]);
});
$("list").addEventListener("keydown", (e) => {
  const i = state.selected ? state.visible.indexOf(state.selected) : -1;
  const next = e.key === "ArrowDown" ? i + 1 : e.key === "ArrowUp" ? i - 1 : -2;
  if (next >= 0 && next < state.visible.length) {
    e.preventDefault();
    select(state.visible[next]);
  }
});

// ---- one trajectory -----------------------------------------------------------------------------------------------

function select(row: Row | undefined) {
  if (!row) return;
  state.selected = row;
  showTab("list");
  renderList();
  renderDetail(row);
}

function verdictHtml(label: string, v: { equivalent: boolean; reason: string } | null, id: string) {
  if (!v) return `<div class="verdict" id="${id}"><b>${label}</b> ${badge("none", "muted")}</div>`;
  return `<div class="verdict" id="${id}"><b>${label}</b> ${badge(v.equivalent ? "correct" : "wrong", v.equivalent ? "ok" : "bad")} <span class="reason">${escape(v.reason)}</span></div>`;
}

function renderDetail(r: Row) {
  const t = r.trajectory;
  const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
  let body = "";
  for (const s of t.segments) {
    if (s.kind === "text") body += `<div class="prose">${markdown(s.text)}</div>`;
    else if (s.kind === "code") body += `<pre class="code">${python(s.code)}</pre>`;
    else {
      const e = s.execution;
      const cls = e.status === "ok" ? "ok" : e.status === "timeout" ? "warn" : "bad";
      body += `<div class="output"><div class="output-head">${badge(e.status.replace("_", " "), cls)}` +
        (e.truncated ? badge("truncated", "warn") : "") +
        `<span class="duration">${ms(e.duration_ms)}</span>` +
        (e.error ? `<span class="exec-error">${escape(e.error)}</span>` : "") +
        `</div>` +
        (e.stdout ? `<pre class="stdout">${escape(e.stdout)}</pre>` : "") +
        (e.stderr ? `<pre class="stderr">${escape(e.stderr)}</pre>` : "") +
        (!e.stdout && !e.stderr ? `<pre class="stdout empty">(no output)</pre>` : "") +
        `</div>`;
    }
  }
  $("detail").innerHTML =
    `<h2>${escape(t.dataset)} / ${escape(t.problem_id)} <small>sample ${t.sample} · line ${r.line}</small></h2>` +
    `<div class="facts">${badge(t.finish.replace("_", " "), t.finish === "stop" ? "ok" : "warn")}` +
    `<span>${t.tool_calls} tool call${t.tool_calls === 1 ? "" : "s"}</span><span>${ms(t.timing.total_ms)}</span>` +
    (t.usage.completion_tokens != null ? `<span>${t.usage.completion_tokens} tokens</span>` : "") +
    (t.sampling.model ? `<span>${escape(t.sampling.model)} · T=${t.sampling.temperature}</span>` : "") +
    `</div>` +
    (t.error ? `<div class="sample-error">${escape(t.error)}</div>` : "") +
    `<div class="grading">` +
    `<div><b>Answer</b> <span id="answer">${t.answer != null ? markdown(`$${t.answer}$`) : "<i>none</i>"}</span></div>` +
    `<div><b>Gold</b> <span id="gold">${markdown(`$${t.gold}$`)}</span></div>` +
    verdictHtml("Stored verdict", t.verdict, "stored-verdict") +
    verdictHtml("Re-graded here (wasm)", r.regrade, "regrade-verdict") +
    (r.changed
      ? `<div class="mismatch" id="mismatch">⚠ The verifier in this page disagrees with the stored verdict` +
        (r.answer !== t.answer ? ` (it extracts ${r.answer != null ? `<code>${escape(r.answer)}</code>` : "no answer"})` : "") +
        `.</div>`
      : "") +
    `</div>` +
    `<h3>Problem</h3><div class="prose problem" id="problem">${markdown(t.prompt)}</div>` +
    `<h3>Trajectory</h3><div id="segments">${body}</div>`;
  $("detail").scrollTop = 0;
}

// ---- summary ------------------------------------------------------------------------------------------------------

function renderSummary() {
  const el = $("summary");
  const m = state.metrics;
  if (!m) {
    el.innerHTML = `<p class="hint">${state.rows.length ? "Loading…" : "Load a file to see its summary."}</p>`;
    return;
  }
  const byTools = new Map<number, [number, number]>();
  for (const r of state.rows) {
    const key = Math.min(r.trajectory.tool_calls, 5);
    const [c, n] = byTools.get(key) ?? [0, 0];
    byTools.set(key, [c + Number(stored(r)), n + 1]);
  }
  const toolBars = [...byTools.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, [c, n]]) => ({ label: k === 5 ? "5+" : String(k), value: c / n, note: `n=${n}` }));
  const hitError = state.rows.filter(hadExecutionProblem);
  const noError = state.rows.filter((r) => r.trajectory.tool_calls > 0 && !hadExecutionProblem(r));
  const acc = (rs: Row[]) => (rs.length ? rs.filter(stored).length / rs.length : 0);
  const byField = state.breakdowns
    .map(
      (b) =>
        `<h3>By ${escape(b.field)}</h3>` +
        `<table class="breakdown" data-field="${escape(b.field)}">${metricsTable(b.field, b.groups)}</table>`,
    )
    .join("");
  el.innerHTML =
    `<h2>Summary of ${escape(state.name)}</h2>` +
    `<p class="hint">Stored verdicts; metrics computed by cir-record in wasm, as <code>cir-eval report</code> does.</p>` +
    `<table id="metrics">${metricsTable("dataset", [m.overall, ...m.datasets])}</table>` +
    byField +
    `<div class="charts">` +
    bars("Accuracy by number of tool calls", "tool calls", "accuracy", toolBars) +
    bars("Error feedback outcomes", "runs that used code", "accuracy", [
      { label: "hit an error", value: acc(hitError), note: `n=${hitError.length}` },
      { label: "no error", value: acc(noError), note: `n=${noError.length}` },
    ]) +
    (m.overall.n > 1
      ? line(`pass@k (${m.overall.problems} problems)`, "k (samples)", "pass@k", m.overall.pass_at_k)
      : `<p class="hint">pass@k needs several samples per problem (this file has ${m.overall.n}).</p>`) +
    `</div>`;
}

/** A metrics table's rows: one per group (`dataset` names it: a dataset, or a metadata field's value). */
function metricsTable(heading: string, groups: DatasetMetrics[]): string {
  const rows = groups
    .map(
      (d) =>
        `<tr><td>${escape(d.dataset)}</td><td>${d.problems}</td><td>${d.samples}</td><td>${(d.avg * 100).toFixed(1)}%</td>` +
        `<td>${d.pass_at_k.length ? (d.pass_at_k[d.pass_at_k.length - 1].value * 100).toFixed(1) + `% (k=${d.n})` : "–"}</td>` +
        `<td>${d.tools.mean_calls.toFixed(2)}</td></tr>`,
    )
    .join("");
  return (
    `<tr><th>${escape(heading)}</th><th>problems</th><th>samples</th><th>avg@n</th><th>pass@n</th>` +
    `<th>tool calls / sample</th></tr>${rows}`
  );
}

function showTab(tab: "list" | "summary") {
  $("tab-list").classList.toggle("active", tab === "list");
  $("tab-summary").classList.toggle("active", tab === "summary");
  $("detail").hidden = tab !== "list";
  $("summary").hidden = tab !== "summary";
  if (tab === "summary") renderSummary();
}
$("tab-list").addEventListener("click", () => showTab("list"));
$("tab-summary").addEventListener("click", () => showTab("summary"));

// ---- start --------------------------------------------------------------------------------------------------------

const src = new URLSearchParams(location.search).get("src");
if (src) load({ kind: "url", url: new URL(src, location.href).href }, src.split("/").pop() || src);
