// Reads the records of a text/label dataset (JSONL shards and CSV files with a header) for the screen:
// the text, the label, and every numeric column. Records are split exactly as the signed record tree splits
// them (src/data/datasets/records.ts), so a record index in a report is the index `verify` would name.
import { readFile } from 'node:fs/promises';
import { BadRequest } from '../../core/errors.js';
import { listModelFiles } from '../../workload/signing/walk.js';
import { DEFAULT_DATASET_SIGNATURE_NAME } from '../datasets/sign-dataset.js';
import { DEFAULT_RECORDS_NAME } from '../datasets/sidecar.js';
import { RecordSplitter, recordFormatOf, type RecordFormat } from '../datasets/records.js';

export interface ScreenRecord {
  file: string;
  /** Index in its file's record tree (CSV: the header is record 0, so data starts at 1). */
  index: number;
  text: string;
  label: string | null;
  numeric: Record<string, number>;
}

export interface ReadOptions {
  textField?: string;
  labelField?: string;
  /** Every string field of a record joined as its text (for the classification scan: PII hides in any column). */
  allStrings?: boolean;
}

export const TEXT_FIELDS = ['text', 'prompt', 'sentence', 'content', 'input'];

/** RFC 4180 fields of one CSV record. */
export function csvFields(rec: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < rec.length; i++) {
    const c = rec[i]!;
    if (quoted) {
      if (c === '"' && rec[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function splitRecords(bytes: Buffer, format: RecordFormat): string[] {
  const recs: string[] = [];
  const s = new RecordSplitter(format, (b) => recs.push(b.toString('utf8')));
  s.push(bytes);
  s.end();
  return recs;
}

function rowsOf(file: string, bytes: Buffer, format: RecordFormat): { index: number; row: Record<string, unknown> }[] {
  const recs = splitRecords(bytes, format);
  if (format === 'jsonl') {
    return recs.flatMap((r, index) => {
      if (r.trim() === '') return [];
      let v: unknown;
      try {
        v = JSON.parse(r);
      } catch {
        throw new BadRequest('dataset_record_invalid', `${file} record ${index} is not JSON`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequest('dataset_record_invalid', `${file} record ${index} is not a JSON object`);
      return [{ index, row: v as Record<string, unknown> }];
    });
  }
  const header = csvFields(recs[0] ?? '');
  return recs.slice(1).flatMap((r, i) => {
    if (r.trim() === '') return [];
    const f = csvFields(r);
    const row: Record<string, unknown> = {};
    header.forEach((h, k) => (row[h] = f[k] ?? ''));
    return [{ index: i + 1, row }];
  });
}

function numberOf(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** Every JSONL/CSV record of the dataset at `path` (a directory or one file), signature files left out. */
export async function readScreenRecords(path: string, o: ReadOptions = {}): Promise<ScreenRecord[]> {
  const files = (await listModelFiles(path, ['.git', DEFAULT_DATASET_SIGNATURE_NAME, DEFAULT_RECORDS_NAME])).filter((f) => recordFormatOf(f.name === '.' ? path : f.name) !== null);
  if (files.length === 0) throw new BadRequest('dataset_no_records', `${path} holds no JSONL or CSV file to screen`);
  const out: ScreenRecord[] = [];
  for (const f of files) {
    const rows = rowsOf(f.name, await readFile(f.path), recordFormatOf(f.name === '.' ? path : f.name)!);
    if (rows.length === 0) continue;
    const textField = o.allStrings ? '' : o.textField ?? TEXT_FIELDS.find((t) => typeof rows[0]!.row[t] === 'string');
    if (textField === undefined) throw new BadRequest('dataset_text_field_missing', `${f.name}: no text field (tried ${TEXT_FIELDS.join(', ')}; name one with --text-field)`);
    const labelField = o.labelField ?? 'label';
    for (const { index, row } of rows) {
      const text = o.allStrings ? Object.values(row).filter((v): v is string => typeof v === 'string').join('\n') : row[textField];
      if (typeof text !== 'string') throw new BadRequest('dataset_record_invalid', `${f.name} record ${index} has no string ${textField}`);
      const lv = row[labelField];
      const numeric: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) {
        if (k === labelField || k === textField) continue;
        const n = numberOf(v);
        if (n !== null) numeric[k] = n;
      }
      out.push({ file: f.name, index, text, label: lv === undefined || lv === null || lv === '' ? null : String(lv), numeric });
    }
  }
  return out;
}
