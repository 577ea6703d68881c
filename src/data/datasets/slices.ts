// Slices of a dataset for a training token: some of its record files (shards) and/or a range of record indices
// [from, to) within each of them, instead of the whole dataset. A slice travels in the token's `datasets` claim
// as one string, `<dataset id>#file=F&file=G&from=N&to=M` (URL-encoded parameters, files sorted), beside whole
// dataset ids. A token exchange intersects these strings like any other ceiling, so a slice can only be kept or
// dropped, never widened into its dataset. Reads (GET /v1/datasets/{id}/records) are clamped to the slice.
import { BadRequest } from '../../core/errors.js';
import { DatasetSliceDenied } from './errors.js';

export interface DatasetSlice {
  dataset: string;
  /** Record files (shards) of the dataset; absent: every record file. */
  files?: string[];
  /** Record indices [from, to) within each allowed file; absent: every record. */
  records?: { from: number; to: number };
}

const MAX_INDEX = 2 ** 32;

/** The claim string of a slice (the same slice always gives the same string). */
export function sliceClaim(s: DatasetSlice): string {
  const q = new URLSearchParams();
  for (const f of [...new Set(s.files ?? [])].sort()) q.append('file', f);
  if (s.records) {
    q.set('from', String(s.records.from));
    q.set('to', String(s.records.to));
  }
  return `${s.dataset}#${q.toString()}`;
}

const index = (v: string | null): number | null => (v !== null && /^\d{1,10}$/.test(v) && Number(v) <= MAX_INDEX ? Number(v) : null);

/** The slice a claim string names, or null for a whole-dataset id (or a claim this version cannot read: refused). */
function parseSliceClaim(claim: string): DatasetSlice | 'malformed' | null {
  const hash = claim.indexOf('#');
  if (hash < 0) return null;
  const q = new URLSearchParams(claim.slice(hash + 1));
  const files = q.getAll('file');
  const from = q.get('from');
  const to = q.get('to');
  const s: DatasetSlice = { dataset: claim.slice(0, hash), ...(files.length ? { files } : {}) };
  if (from === null && to === null) return s;
  const [f, t] = [index(from), index(to)];
  if (f === null || t === null || f >= t) return 'malformed';
  return { ...s, records: { from: f, to: t } };
}

/** What a token's dataset claims allow on dataset `id`: all of it, some slices of it, or nothing. */
export function grantsOn(claims: readonly string[], id: string): { whole: boolean; slices: DatasetSlice[] } {
  const slices: DatasetSlice[] = [];
  let whole = false;
  for (const c of claims) {
    const s = parseSliceClaim(c);
    if (s === null) whole ||= c === id;
    else if (s !== 'malformed' && s.dataset === id) slices.push(s);
  }
  return { whole, slices };
}

/**
 * The part of a read [offset, offset + limit) of `file` that the slices allow: the read must start inside a slice
 * that allows the file, and it ends at that slice's end. Refused (DatasetSliceDenied) otherwise.
 */
export function clampToSlices(slices: readonly DatasetSlice[], file: string, offset: number, limit: number): { limit: number; end: number } {
  let best: number | null = null;
  for (const s of slices) {
    if (s.files && !s.files.includes(file)) continue;
    const from = s.records?.from ?? 0;
    const to = s.records?.to ?? MAX_INDEX;
    if (offset >= from && offset < to && (best === null || to > best)) best = to;
  }
  if (best === null) {
    const allowed = slices.map((s) => `${s.files ? s.files.join(',') : 'every file'}${s.records ? ` records ${s.records.from}-${s.records.to - 1}` : ''}`).join('; ');
    throw new DatasetSliceDenied(`the token allows only a slice of this dataset (${allowed}), not ${file} from record ${offset}`);
  }
  return { limit: Math.min(limit, best - offset), end: best };
}

/** A slice as the admin API takes it: `{dataset, files?, records?: {from, to}}`; `recordFiles` are the dataset's. */
export function parseSlice(v: unknown, recordFiles: (datasetId: string) => Promise<string[]>): Promise<DatasetSlice> {
  const bad = (m: string) => new BadRequest('invalid_field', `slices: ${m}`, 'slices');
  return (async () => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('each slice is an object {dataset, files?, records?}');
    const o = v as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !['dataset', 'files', 'records'].includes(k));
    if (extra.length) throw bad(`unknown field ${extra[0]}`);
    if (typeof o.dataset !== 'string' || o.dataset === '' || o.dataset.includes('#')) throw bad('dataset must be a dataset id');
    if (o.files === undefined && o.records === undefined) throw bad('a slice names files, records or both (name the whole dataset in datasets)');
    const s: DatasetSlice = { dataset: o.dataset };
    if (o.files !== undefined) {
      if (!Array.isArray(o.files) || o.files.length === 0 || o.files.some((f) => typeof f !== 'string')) throw bad('files must be a non-empty list of file names');
      const known = await recordFiles(o.dataset);
      const unknown = (o.files as string[]).find((f) => !known.includes(f));
      if (unknown !== undefined) throw bad(`${unknown} is not a JSONL or CSV file of ${o.dataset}`);
      s.files = [...new Set(o.files as string[])].sort();
    }
    if (o.records !== undefined) {
      const r = o.records as Record<string, unknown>;
      const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_INDEX;
      if (typeof r !== 'object' || r === null || !ok(r.from) || !ok(r.to) || r.from >= r.to) throw bad('records must be {from, to}: record indices with from < to');
      s.records = { from: r.from, to: r.to };
    }
    return s;
  })();
}
