// `warden inspect [FILE|-] [--json] [--lines | --jsonl]`: runs the request-side detectors over a text (one
// document, one per line with --lines, or one {"text": …} object per line with --jsonl, so multi-line items
// can be inspected) and prints findings and the injection score. Values are never printed, only types,
// spans and confidences, so the output is safe to paste into a ticket.
// `warden inspect --eval LABELLED.jsonl [--cut SCORE] [--json]`: each line {"text": …, "label": 0|1} (1 = an
// injection); prints TPR, FPR, precision and F1 at the cut (default: the starter policy's blocking cut,
// INJECTION_BLOCK_CUT in src/core/injection-cuts.ts) and the ROC AUC of the score.
import { readFile } from 'node:fs/promises';
import type { Findings } from '../core/types.js';
import { inspectText } from '../inspect/index.js';
import { evaluate } from '../inspect/evaluate.js';
import { INJECTION_BLOCK_CUT } from '../core/injection-cuts.js';

const USAGE = 'usage: warden inspect [FILE|-] [--json] [--lines | --jsonl]\n       warden inspect --eval LABELLED.jsonl [--cut SCORE] [--json]\n';

class InputError extends Error {}

/** One JSON object per non-empty line; every line is checked before any is used (nothing half-read). */
function jsonlRecords(text: string, what: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new InputError(`${what} line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(`${what} line ${i + 1}: expected an object like {"text": "…"}`);
    const rec = v as Record<string, unknown>;
    if (typeof rec.text !== 'string') throw new InputError(`${what} line ${i + 1}: "text" must be a string`);
    out.push(rec);
  });
  return out;
}

function labelOf(rec: Record<string, unknown>, line: number): 0 | 1 {
  const l = rec.label;
  if (l === 1 || l === true || l === '1') return 1;
  if (l === 0 || l === false || l === '0') return 0;
  throw new InputError(`item ${line}: "label" must be 0 or 1 (1 = injection), got ${JSON.stringify(l)}`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function human(i: number, f: Findings): string {
  const lines = [`#${i} injection=${f.injectionScore.toFixed(3)} signals=[${f.injectionSignals.join(',')}] classification=${f.classification}`];
  for (const it of f.items) lines.push(`  ${it.category}.${it.type} ${it.start}-${it.end} confidence=${it.confidence}`);
  return lines.join('\n') + '\n';
}

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: () => Promise<string>;
}

const defaultIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: readStdin,
};

export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  let json = false;
  let lines = false;
  let jsonl = false;
  let evalFile: string | undefined;
  let cut = INJECTION_BLOCK_CUT;
  let file: string | undefined;
  const bad = (msg: string) => {
    io.err(`warden inspect: ${msg}\n${USAGE}`);
    return 2;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--lines') lines = true;
    else if (a === '--jsonl') jsonl = true;
    else if (a === '--eval' || a === '--cut') {
      const v = args[++i];
      if (v === undefined) return bad(`${a} needs a value`);
      if (a === '--eval') evalFile = v;
      else {
        cut = Number(v);
        if (v.trim() === '' || !Number.isFinite(cut) || cut < 0 || cut > 1) return bad(`--cut must be a score between 0 and 1, got ${JSON.stringify(v)}`);
      }
    } else if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a.startsWith('--') || file !== undefined) {
      return bad(`unexpected argument ${JSON.stringify(a)}`);
    } else file = a;
  }
  if (lines && jsonl) return bad('--lines and --jsonl are two ways to split the input: give one');
  if (evalFile !== undefined && (file !== undefined || lines || jsonl)) return bad('--eval reads its own file; give no other input');
  const source = evalFile ?? file;
  let text: string;
  try {
    text = source === undefined || source === '-' ? await io.stdin() : await readFile(source, 'utf8');
  } catch (e) {
    io.err(`warden inspect: cannot read ${source}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    if (evalFile !== undefined) {
      const recs = jsonlRecords(text, evalFile);
      if (recs.length === 0) throw new InputError(`${evalFile}: no items`);
      const labels = recs.map((r, i) => labelOf(r, i + 1));
      const r = evaluate(recs.map((rec) => inspectText(rec.text as string).injectionScore), labels, cut);
      const f3 = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
      io.out(
        json
          ? JSON.stringify(r) + '\n'
          : `${r.items} items (${r.positives} injections, ${r.negatives} benign), blocked when injection score > ${cut}\n` +
              `TPR ${f3(r.tpr)}  FPR ${f3(r.fpr)}  precision ${f3(r.precision)}  F1 ${f3(r.f1)}  ROC AUC ${f3(r.auc)}\n` +
              `TP ${r.tp}  FP ${r.fp}  TN ${r.tn}  FN ${r.fn}\n`,
      );
      return 0;
    }
    const docs = jsonl
      ? jsonlRecords(text, source ?? 'stdin').map((r) => r.text as string)
      : lines
        ? text.split(/\r?\n/).filter((l, i, all) => !(l === '' && i === all.length - 1))
        : [text];
    docs.forEach((doc, i) => {
      const f = inspectText(doc);
      io.out(json || jsonl ? JSON.stringify({ index: i, ...f }) + '\n' : human(i, f));
    });
    return 0;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    io.err(`warden inspect: ${e.message}\n`);
    return 2;
  }
}
