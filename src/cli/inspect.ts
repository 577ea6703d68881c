// `warden inspect [FILE|-] [--json] [--lines]`: runs the request-side detectors over a text (one
// document, or one per line with --lines) and prints findings and the injection score. Values are
// never printed, only types, spans and confidences, so the output is safe to paste into a ticket.
import { readFile } from 'node:fs/promises';
import type { Findings } from '../core/types.js';
import { inspectText } from '../inspect/index.js';

const USAGE = 'usage: warden inspect [FILE|-] [--json] [--lines]\n';

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
  let file: string | undefined;
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a === '--lines') lines = true;
    else if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a.startsWith('--') || file !== undefined) {
      io.err(`warden inspect: unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    } else file = a;
  }
  let text: string;
  try {
    text = file === undefined || file === '-' ? await io.stdin() : await readFile(file, 'utf8');
  } catch (e) {
    io.err(`warden inspect: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  const docs = lines ? text.split(/\r?\n/).filter((l, i, all) => !(l === '' && i === all.length - 1)) : [text];
  docs.forEach((doc, i) => {
    const f = inspectText(doc);
    io.out(json ? JSON.stringify({ index: i, ...f }) + '\n' : human(i, f));
  });
  return 0;
}
