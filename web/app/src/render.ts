// Text rendering for trajectories: HTML escaping, a small Markdown subset (paragraphs, headings, **bold**, *italic*,
// `code`, fenced blocks, lists) with LaTeX through KaTeX, and a tiny Python highlighter. Model text is untrusted: every
// character that reaches innerHTML goes through `escape` or KaTeX (which escapes its own output).
import katex from "katex";

export function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$\n]+?)\$/g;

function math(tex: string, display: boolean): string {
  return katex.renderToString(tex, { displayMode: display, throwOnError: false, strict: "ignore", output: "html" });
}

function inline(s: string): string {
  // Math is rendered first and swapped for placeholders so that `*` and `_` inside TeX stay untouched.
  const stash: string[] = [];
  const keep = (html: string) => `\u0000${stash.push(html) - 1}\u0000`;
  let out = s.replace(MATH, (_m, dd, br, pa, d) =>
    keep(dd !== undefined || br !== undefined ? math(dd ?? br, true) : math(pa ?? d, false)),
  );
  out = out.replace(/`([^`\n]+)`/g, (_m, c) => keep(`<code>${escape(c)}</code>`));
  out = escape(out)
    .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*])\*([^*\n]+)\*/g, "$1<em>$2</em>");
  return out.replace(/\u0000(\d+)\u0000/g, (_m, i) => stash[Number(i)]);
}

/** Markdown-ish prose with math; fenced blocks inside prose (rare: the loop splits code out) render as code. */
export function markdown(text: string): string {
  const parts = text.split(/```(\w*)\n?([\s\S]*?)(?:```|$)/);
  let html = "";
  for (let i = 0; i < parts.length; i += 3) {
    html += paragraphs(parts[i]);
    if (i + 2 < parts.length) html += `<pre class="code">${parts[i + 1] === "python" ? python(parts[i + 2]) : escape(parts[i + 2])}</pre>`;
  }
  return html;
}

function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .filter((p) => p.trim() !== "")
    .map((p) => {
      const h = /^(#{1,4})\s+(.*)$/s.exec(p.trim());
      if (h) return `<h${h[1].length + 2}>${inline(h[2])}</h${h[1].length + 2}>`;
      const lines = p.trim().split("\n");
      if (lines.every((l) => /^\s*([-*]|\d+\.)\s+/.test(l))) {
        return `<ul>${lines.map((l) => `<li>${inline(l.replace(/^\s*([-*]|\d+\.)\s+/, ""))}</li>`).join("")}</ul>`;
      }
      return `<p>${lines.map(inline).join("<br>")}</p>`;
    })
    .join("");
}

const PY_KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except finally for from global " +
    "if import in is lambda nonlocal not or pass raise return try while with yield print range len")
    .split(" "),
);
const PY_TOKEN = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|\b(\d+(?:\.\d+)?)\b|\b([A-Za-z_]\w*)\b/g;

/** Python source with comments, strings, numbers and keywords wrapped in spans; everything escaped. */
export function python(code: string): string {
  let html = "";
  let last = 0;
  for (const m of code.matchAll(PY_TOKEN)) {
    html += escape(code.slice(last, m.index));
    last = m.index + m[0].length;
    const cls = m[1] ? "c" : m[2] ? "s" : m[3] ? "n" : PY_KEYWORDS.has(m[4]) ? "k" : "";
    html += cls ? `<span class="${cls}">${escape(m[0])}</span>` : escape(m[0]);
  }
  return html + escape(code.slice(last));
}
