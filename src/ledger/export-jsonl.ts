// SIEM export: committed entries as JSON lines ({index, leafHash, entry}), appended to a file or POSTed
// to a webhook as application/x-ndjson. The caller keeps the returned cursor and resumes from it.
import { appendFile } from 'node:fs/promises';
import { b64, leafHash } from './hash.js';
import type { Ledger } from './ledger.js';

export interface JsonlSink {
  file?: string;
  webhook?: string;
}

export interface JsonlExportResult {
  exported: number;
  /** Index to resume from next time. */
  next: number;
}

/** Exports entries [from, latest checkpoint size) in chunks; a webhook answer other than 2xx stops the export. */
export async function exportJsonLines(ledger: Ledger, from: number, sink: JsonlSink, chunk = 1000): Promise<JsonlExportResult> {
  if ((sink.file === undefined) === (sink.webhook === undefined)) throw new RangeError('give exactly one of file or webhook');
  const end = ledger.size;
  let at = from;
  while (at < end) {
    const entries = await ledger.readEntries(at, Math.min(chunk, end - at));
    if (entries.length === 0) break;
    const body = entries.map((e, i) => JSON.stringify({ index: at + i, leafHash: b64(leafHash(e)), entry: JSON.parse(e.toString('utf8')) as unknown })).join('\n') + '\n';
    if (sink.file) await appendFile(sink.file, body);
    else {
      const res = await fetch(sink.webhook!, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      if (!res.ok) throw new Error(`webhook ${sink.webhook} answered ${res.status} at entry ${at}; resume from ${at}`);
    }
    at += entries.length;
  }
  return { exported: at - from, next: at };
}
