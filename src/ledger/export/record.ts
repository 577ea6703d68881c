// One exported ledger entry: its index, its RFC 6962 leaf hash and the entry itself (the JSON-lines shape of
// export-jsonl.ts, shared by every destination so a SIEM can match any of them to the log).
import { b64, leafHash } from '../hash.js';

export interface ExportRecord {
  index: number;
  leafHash: string;
  entry: Record<string, unknown>;
}

export function exportRecord(index: number, raw: Buffer): ExportRecord {
  return { index, leafHash: b64(leafHash(raw)), entry: JSON.parse(raw.toString('utf8')) as Record<string, unknown> };
}
