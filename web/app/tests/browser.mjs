// Browser test of the built viewer: serves dist/ and the fixtures on 127.0.0.1, drives Debian's Chromium through
// playwright-core (no browser download), loads a fixture with `?src=`, and checks what a user sees. Screenshots go to
// test-output/. Usage: node tests/browser.mjs (after `vite build`); CHROMIUM overrides /usr/bin/chromium;
// VIEWER_URL=<url printed by `cir-eval view tests/fixtures/sample.jsonl`> tests that server instead of the static one.
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const app = resolve(import.meta.dirname, "..");
const dist = join(app, "dist");
const out = join(app, "test-output");
mkdirSync(out, { recursive: true });
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm",
  ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".jsonl": "application/x-ndjson" };

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = path.startsWith("/fixtures/")
    ? join(app, "tests", normalize(path))
    : join(dist, normalize(path === "/" ? "/index.html" : path));
  if (!existsSync(file) || !(file.startsWith(dist) || file.startsWith(join(app, "tests", "fixtures")))) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const start = process.env.VIEWER_URL ?? `http://127.0.0.1:${server.address().port}/?src=fixtures/sample.jsonl`;
const shot = (name) => join(out, `${process.env.VIEWER_URL ? "view-" : ""}${name}.png`);

const profile = mkdtempSync(join(tmpdir(), "cir-viewer-chromium-"));
// A persistent context on a fresh empty directory: Playwright passes it as `--user-data-dir`.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(start);
  const status = page.locator('#status[data-phase="loaded"]');
  await status.waitFor({ timeout: 30_000 });
  const statusText = await status.textContent();
  assert.match(statusText, /6 trajectories, 2 bad lines skipped, 1 verdict changed on re-grade/);

  // Bad lines: each named with its line number and reason; the rest loaded.
  const errors = await page.locator("#errors li").allTextContents();
  assert.equal(errors.length, 2, errors.join("\n"));
  assert.match(errors[0], /^line 4: invalid trajectory: .*EOF|^line 4: not a JSON object/);
  assert.equal(errors[1], "line 7: unknown schema version 3 (this viewer reads versions 1 to 2)");

  // One trajectory with a failing then a fixed code block.
  await page.locator(".row", { hasText: "toy / squares #0" }).click();
  const detail = page.locator("#detail");
  assert.match(await detail.locator("#problem").textContent(), /Compute/);
  assert.equal(await detail.locator("#problem .katex").count(), 1, "problem LaTeX rendered by KaTeX");
  const code = await detail.locator("pre.code").allTextContents();
  assert.deepEqual(code, ["print(sum(k**2 for k in range(1, 11))", "print(sum(k**2 for k in range(1, 11)))"]);
  assert.match(await detail.locator("pre.stderr").textContent(), /SyntaxError: '\(' was never closed/);
  assert.equal((await detail.locator("pre.stdout").textContent()).trim(), "385");
  assert.deepEqual(await detail.locator(".output-head .badge").allTextContents(), ["error", "ok"]);
  assert.match(await detail.locator("#stored-verdict").textContent(), /correct\s+equal: exact/);
  assert.match(await detail.locator("#regrade-verdict").textContent(), /correct\s+equal: identical/);
  assert.equal(await detail.locator("#mismatch").count(), 0);
  await page.screenshot({ path: shot("trajectory") });

  // Filter: verdict changed on re-grade leaves the one sample the placeholder grader got wrong.
  await page.locator("#f-changed").check();
  assert.equal(await page.locator("#count").textContent(), "1 of 6 shown");
  await page.locator(".row").first().click();
  assert.match(await detail.locator("h2").textContent(), /toy \/ roots/);
  assert.match(await detail.locator("#stored-verdict").textContent(), /wrong\s+different: string/);
  assert.match(await detail.locator("#regrade-verdict").textContent(), /correct\s+equal/);
  assert.match(await detail.locator("#mismatch").textContent(), /disagrees with the stored verdict/);
  await page.screenshot({ path: shot("mismatch") });
  await page.locator("#f-changed").uncheck();

  // Other filters and search.
  await page.locator("#f-budget").check();
  assert.equal(await page.locator("#count").textContent(), "1 of 6 shown");
  await page.locator("#f-budget").uncheck();
  await page.locator("#f-error").check();
  assert.equal(await page.locator("#count").textContent(), "2 of 6 shown");
  await page.locator("#f-error").uncheck();
  await page.locator("#f-dataset").selectOption("aime");
  assert.equal(await page.locator("#count").textContent(), "2 of 6 shown");
  await page.locator("#f-dataset").selectOption("");
  await page.locator("#search").fill("sympy");
  assert.equal(await page.locator("#count").textContent(), "1 of 6 shown");
  await page.locator("#search").fill("");
  await page.locator("#sort").selectOption("tools");
  assert.equal(await page.locator(".row .row-title").first().textContent(), "toy / squares #0");
  await page.locator("#sort").selectOption("file");
  assert.equal(await page.locator(".row .row-title").first().textContent(), "toy / roots #0");

  // Summary: metrics from cir-record (stored verdicts: 3 of 6 correct; every problem has 2 samples).
  await page.locator("#tab-summary").click();
  const overall = await page.locator("#metrics tr").nth(1).allTextContents();
  assert.match(overall[0], /overall\s*3\s*6\s*50\.0%\s*100\.0% \(k=2\)/);
  // Per metadata field (the fixture's `meta.subject`), computed by the same Rust code as `cir-eval report --by`.
  const bySubject = await page.locator('table.breakdown[data-field="subject"] tr').allTextContents();
  assert.equal(bySubject.length, 3, bySubject.join(" | "));
  assert.match(bySubject[1], /Algebra\s*2\s*4\s*50\.0%\s*100\.0% \(k=2\)/);
  assert.match(bySubject[2], /Number Theory\s*1\s*2\s*50\.0%\s*100\.0% \(k=2\)/);
  assert.equal(await page.locator("#summary svg").count(), 3);
  assert.match(await page.locator("#summary svg").nth(2).textContent(), /pass@k/);
  await page.screenshot({ path: shot("summary") });

  // The file picker with a file that is not JSONL at all: a clear message per line, nothing else breaks.
  await page.locator("#file").setInputFiles({
    name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just some notes\n\nmore notes\n"),
  });
  await page.locator('#status[data-phase="loaded"]', { hasText: "notes.txt" }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator("#status").textContent(), "notes.txt: 0 trajectories, 2 bad lines skipped");
  const notes = await page.locator("#errors li").allTextContents();
  assert.equal(notes.length, 2);
  assert.match(notes[0], /^line 1: not a JSON object: expected value/);
  assert.match(notes[1], /^line 3: not a JSON object/);
  assert.equal(await page.locator(".row").count(), 0);
  assert.deepEqual(pageErrors, []);
  console.log(`browser test passed on ${start}; screenshots in ${out}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
