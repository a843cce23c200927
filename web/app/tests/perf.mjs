// Load-time measurement of the built viewer: writes N trajectories (the fixture's valid lines with distinct problem
// ids) to a temporary file, serves it with dist/, and times from navigation to "loaded" and a filter change in
// Debian's Chromium. Usage: node tests/perf.mjs [N=5000] (after `vite build`).
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";

const n = Number(process.argv[2] ?? 5000);
const app = resolve(import.meta.dirname, "..");
const dist = join(app, "dist");
const valid = readFileSync(join(app, "tests/fixtures/sample.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.includes('"segments"'))
  .map((l) => JSON.parse(l));
const lines = [];
for (let i = 0; i < n; i++) {
  const t = structuredClone(valid[i % valid.length]);
  t.problem_id = `${t.problem_id}-${Math.floor(i / valid.length)}`;
  lines.push(JSON.stringify(t));
}
const data = Buffer.from(lines.join("\n") + "\n");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (path === "/big.jsonl") return res.writeHead(200).end(data);
  try {
    const file = join(dist, normalize(path === "/" ? "/index.html" : path));
    const body = readFileSync(file);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const profile = mkdtempSync(join(tmpdir(), "cir-viewer-perf-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${server.address().port}/?src=big.jsonl`);
  await page.locator('#status[data-phase="loaded"]').waitFor({ timeout: 300_000 });
  const load = Date.now() - t0;
  const t1 = Date.now();
  await page.locator("#f-error").check();
  await page.waitForFunction((all) => !document.getElementById("count").textContent.startsWith(`${all} of`), n);
  const filter = Date.now() - t1;
  const rendered = await page.locator(".row").count();
  console.log(`${n} trajectories (${(data.length / 1e6).toFixed(1)} MB): loaded, re-graded and summarised in ` +
    `${load} ms; filter in ${filter} ms; ${rendered} list rows in the DOM`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
