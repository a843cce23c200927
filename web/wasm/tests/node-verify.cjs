// Loads the wasm build of cir-web (wasm-bindgen --target nodejs) and checks that its verdicts on the shared case
// files are identical to the native build's (`cir-eval grade --cases … --out …` output files).
// Usage: node node-verify.cjs PKG_DIR CASES_1.jsonl NATIVE_1.jsonl [CASES_2.jsonl NATIVE_2.jsonl …]
'use strict';
const fs = require('fs');
const path = require('path');

const [pkgDir, ...pairs] = process.argv.slice(2);
if (!pkgDir || pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error('usage: node node-verify.cjs PKG_DIR CASES.jsonl NATIVE_OUT.jsonl [...]');
  process.exit(2);
}
const web = require(path.resolve(pkgDir, 'cir_web.js'));

let total = 0;
let mismatches = 0;
for (let k = 0; k < pairs.length; k += 2) {
  const cases = fs.readFileSync(pairs[k], 'utf8').split('\n').filter((l) => l.trim());
  const native = fs.readFileSync(pairs[k + 1], 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  if (cases.length !== native.length) {
    console.error(`${pairs[k]}: ${cases.length} cases but ${native.length} native verdicts`);
    process.exit(1);
  }
  cases.forEach((line, i) => {
    const c = JSON.parse(line);
    const v = JSON.parse(web.verify(c.pred, c.gold));
    total += 1;
    if (v.equivalent !== native[i].verdict || v.reason !== native[i].reason) {
      mismatches += 1;
      console.error(`${pairs[k]}:${i + 1}: wasm ${v.equivalent} (${v.reason}) vs native ${native[i].verdict} (${native[i].reason})`);
    }
  });
}
const answer = web.extractAnswer('so $x = \\boxed{\\frac{1}{2}}$.');
if (answer !== '\\frac{1}{2}') {
  console.error(`extractAnswer returned ${answer}`);
  mismatches += 1;
}
if (web.extractAnswer('') !== undefined) {
  console.error('extractAnswer("") should be undefined');
  mismatches += 1;
}
console.log(`wasm vs native: ${total - mismatches}/${total} verdicts identical`);
process.exit(mismatches === 0 ? 0 : 1);
