// Small SVG charts with labelled axes: bars (accuracy by tool calls, error-feedback outcomes) and a line (pass@k).
import { escape } from "./render";

const W = 420;
const H = 260;
const M = { left: 52, right: 16, top: 28, bottom: 48 };

export interface Bar {
  label: string;
  value: number;
  /** Shown above the bar, e.g. the sample count. */
  note?: string;
}

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  const ph = H - M.top - M.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => {
      const y = M.top + ph * (1 - t);
      return `<line x1="${M.left - 4}" x2="${W - M.right}" y1="${y}" y2="${y}" class="grid"/>` +
        `<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${Math.round(t * 100)}%</text>`;
    })
    .join("");
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escape(title)}">` +
    `<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escape(title)}</text>${ticks}` +
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" class="axis"/>` +
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" class="axis"/>` +
    body +
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 8}" text-anchor="middle" class="label">${escape(xLabel)}</text>` +
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${escape(yLabel)}</text>` +
    `</svg>`;
}

/** Bars of values in [0, 1]. */
export function bars(title: string, xLabel: string, yLabel: string, data: Bar[]): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const step = pw / Math.max(data.length, 1);
  const body = data
    .map((d, i) => {
      const h = ph * d.value;
      const x = M.left + i * step + step * 0.15;
      const y = M.top + ph - h;
      return `<rect x="${x}" y="${y}" width="${step * 0.7}" height="${h}" class="bar"><title>${escape(d.label)}: ${(d.value * 100).toFixed(1)}%</title></rect>` +
        `<text x="${x + step * 0.35}" y="${y - 4}" text-anchor="middle" class="note">${escape(d.note ?? "")}</text>` +
        `<text x="${x + step * 0.35}" y="${H - M.bottom + 16}" text-anchor="middle">${escape(d.label)}</text>`;
    })
    .join("");
  return frame(title, xLabel, yLabel, body);
}

/** A line through points (k, value in [0, 1]), k = 1..n. */
export function line(title: string, xLabel: string, yLabel: string, points: { k: number; value: number }[]): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const maxK = Math.max(...points.map((p) => p.k), 1);
  const x = (k: number) => M.left + (maxK === 1 ? pw / 2 : ((k - 1) / (maxK - 1)) * pw);
  const y = (v: number) => M.top + ph * (1 - v);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.k)},${y(p.value)}`).join(" ");
  const labelEvery = Math.ceil(points.length / 12);
  const body = `<path d="${path}" class="curve"/>` +
    points
      .map((p, i) =>
        `<circle cx="${x(p.k)}" cy="${y(p.value)}" r="3" class="dot"><title>pass@${p.k}: ${(p.value * 100).toFixed(1)}%</title></circle>` +
        (i % labelEvery === 0 || i === points.length - 1
          ? `<text x="${x(p.k)}" y="${H - M.bottom + 16}" text-anchor="middle">${p.k}</text>`
          : ""),
      )
      .join("");
  return frame(title, xLabel, yLabel, body);
}
