// The poisoning screen's report as one self-contained HTML page (no script, no external resource): a summary,
// two plots drawn as inline SVG (each check's value against its threshold; the label distribution, beside the
// baseline's when there is one) and the checks with the records they blame. Everything taken from the data
// (labels, notes, file names) is HTML-escaped: a dataset is untrusted input and this page is opened in a browser.
import type { ScreenReport } from './screen.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const W = 640;
const ROW = 22;
const LEFT = 170;

/** Horizontal bars: each check's value as a share of its threshold (1.0 = the threshold line), capped at 3×. */
function checksPlot(r: ScreenReport): string {
  const h = r.checks.length * ROW + 30;
  const scale = (W - LEFT - 20) / 3;
  const bars = r.checks.map((c, i) => {
    const ratio = c.threshold > 0 ? c.value / c.threshold : c.value > 0 ? 3 : 0;
    const w = Math.max(1, Math.min(3, ratio) * scale);
    const y = 10 + i * ROW;
    return `<text x="${LEFT - 6}" y="${y + 14}" text-anchor="end">${esc(c.name)}</text>`
      + `<rect x="${LEFT}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" class="${c.alarm ? 'alarm' : 'ok'}"><title>${esc(`${c.name}: ${c.value} (threshold ${c.threshold})`)}</title></rect>`;
  });
  const x1 = LEFT + scale;
  return `<svg width="${W}" height="${h}" role="img" aria-label="check values against thresholds">${bars.join('')}`
    + `<line x1="${x1}" x2="${x1}" y1="5" y2="${h - 18}" class="threshold"/><text x="${x1}" y="${h - 5}" text-anchor="middle">threshold</text></svg>`;
}

/** Label shares, the baseline's beside them when the screen had one. */
function labelsPlot(r: ScreenReport): string {
  const names = [...new Set([...Object.keys(r.labels), ...Object.keys(r.baselineLabels ?? {})])].sort();
  if (names.length === 0) return '<p>No labels.</p>';
  const share = (m: Record<string, number> | null | undefined, k: string) => {
    if (!m) return 0;
    const total = Object.values(m).reduce((a, b) => a + b, 0);
    return total ? (m[k] ?? 0) / total : 0;
  };
  const scale = W - LEFT - 60;
  const rows = names.map((k, i) => {
    const y = 10 + i * ROW * 1.6;
    const cur = share(r.labels, k);
    const base = r.baselineLabels ? `<rect x="${LEFT}" y="${y + ROW * 0.75}" width="${(share(r.baselineLabels, k) * scale).toFixed(1)}" height="${ROW * 0.55}" class="baseline"/>` : '';
    return `<text x="${LEFT - 6}" y="${y + 14}" text-anchor="end">${esc(k)}</text><rect x="${LEFT}" y="${y + 2}" width="${(cur * scale).toFixed(1)}" height="${ROW * 0.65}" class="current"/>${base}`
      + `<text x="${LEFT + cur * scale + 4}" y="${y + 14}">${(cur * 100).toFixed(1)}%</text>`;
  });
  return `<svg width="${W}" height="${names.length * ROW * 1.6 + 14}" role="img" aria-label="label distribution">${rows.join('')}</svg>`;
}

export function screenReportHtml(r: ScreenReport, title: string): string {
  const rows = r.checks.map((c) => {
    const ex = c.examples.map((e) => `<li>${esc(e.file)} record ${e.index}${e.note ? `: ${esc(e.note)}` : ''}</li>`).join('');
    return `<tr class="${c.alarm ? 'alarm' : 'ok'}"><td>${c.alarm ? 'ALARM' : 'ok'}</td><td>${esc(c.name)}</td><td>${c.value}</td><td>${c.threshold}</td><td>${esc(c.summary)}${ex ? `<ul>${ex}</ul>` : ''}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
tr.alarm td:first-child{color:#b00;font-weight:bold}svg text{font:12px system-ui,sans-serif}rect.ok{fill:#4a8}rect.alarm{fill:#c33}rect.current{fill:#48c}rect.baseline{fill:#bbb}line.threshold{stroke:#000;stroke-dasharray:4 3}
</style></head><body>
<h1>${esc(title)}</h1>
<p>Screened ${r.records} record(s)${r.baselineRecords !== null ? ` against a baseline of ${r.baselineRecords}` : ' (no baseline: label, drift and lift checks need one)'}.
<strong>${r.alarms.length ? `${r.alarms.length} alarm(s): ${esc(r.alarms.join(', '))}` : 'No alarms.'}</strong></p>
<h2>Checks against their thresholds</h2>
${checksPlot(r)}
<h2>Labels${r.baselineLabels ? ' (blue: this version, grey: baseline)' : ''}</h2>
${labelsPlot(r)}
<h2>Checks</h2>
<table><tr><th></th><th>check</th><th>value</th><th>threshold</th><th>what, and the records it blames</th></tr>
${rows.join('\n')}
</table>
</body></html>
`;
}
