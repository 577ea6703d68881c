// /admin/v1/datasets and /admin/v1/data-sources: the registry verbs of `warden data` on the admin listener.
// The admin dispatcher has already asked the PDP (manageDatasets / readRegistry, src/admin/routes.ts); the
// registry writes each change, and each refusal, to the ledger before it happens.
//   GET/POST /admin/v1/data-sources, GET /admin/v1/data-sources/{id}, POST /admin/v1/data-sources/{id}/retire
//   GET/POST /admin/v1/datasets,     GET /admin/v1/datasets/{id}[/lineage], POST /admin/v1/datasets/{id}/verify|retire|screen|evaluate
//   POST /admin/v1/training-tokens, POST /admin/v1/training-tokens/{jti}/end
// Verification hashes the dataset ON THE GATEWAY HOST (an absolute path) under the registered source's key.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest, NotFound, WardenError } from '../../core/errors.js';
import { crossTenantRefusal } from '../../core/tenant.js';
import type { AdminRequest } from '../../admin/admin.js';
import { sendJson } from '../../http/respond.js';
import type { DatasetRecord, DatasetState } from '../../store/datasets-store.js';
import { DatasetClassificationMismatch, DatasetManifestMismatch, describeRecord } from './errors.js';
import { scanClassification } from '../screen/classification-scan.js';
import { readScreenRecords } from '../screen/read.js';
import { lineageMermaid, lineageText, type ScreenSummary } from '../lineage/openlineage.js';
import type { DatasetRegistry, DecideTrainOn } from './registry.js';
import type { TrainingDataAccess } from './training-access.js';
import { clientAddress } from '../../network/source.js';
import { datasetIgnorePaths } from './sign-dataset.js';
import { verifyDataset } from './verify-dataset.js';

const STATES: DatasetState[] = ['registered', 'verified', 'retired'];
const SUBJECT_FIELD = /^\P{Cc}{1,128}$/u;

function str(b: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = b[name];
  if (v === undefined || v === null) {
    if (required) throw new BadRequest('missing_field', `${name} is required`, name);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw new BadRequest('invalid_field', `${name} must be a non-empty string`, name);
  return v;
}

/**
 * The tenant of the model asked about: the caller's by default; another only for a platform admin (src/core/tenant.ts).
 * A refusal is recorded before it is thrown.
 */
async function modelTenant(ar: AdminRequest, b: Record<string, unknown>): Promise<string> {
  const tenant = str(b, 'tenant', false) ?? ar.principal.tenant;
  const refused = crossTenantRefusal(ar.principal, tenant);
  if (refused) {
    await ar.record('data.dataset.crossTenant', { type: 'System', id: 'datasets' }, { tenant, path: ar.path }, refused);
    throw refused;
  }
  return tenant;
}

function list(b: Record<string, unknown>, name: string): string[] {
  const v = b[name];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new BadRequest('invalid_field', `${name} must be a list of strings`, name);
  return v as string[];
}

function absolute(b: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = str(b, name, required);
  if (v === undefined) return undefined;
  if (!isAbsolute(v)) throw new BadRequest('invalid_field', `${name} must be an absolute path on the gateway host`, name);
  return resolve(v);
}

function digestField(b: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = str(b, name, required);
  if (v !== undefined && !/^sha256:[0-9a-f]{64}$/.test(v)) throw new BadRequest('invalid_field', `${name} must be sha256:<64 hex>`, name);
  return v;
}

const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A screen report's figures as the CLI posts them (ScreenReport of src/data/screen/screen.ts); record text is never taken. */
function screenSummary(v: unknown, baselineDigest: string | null): ScreenSummary {
  const bad = (why: string) => new BadRequest('invalid_field', `report ${why}`, 'report');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('must be the screen report object');
  const r = v as Record<string, unknown>;
  if (!count(r.records)) throw bad('.records must be a record count');
  if (r.baselineRecords !== null && !count(r.baselineRecords)) throw bad('.baselineRecords must be a record count or null');
  if (!Array.isArray(r.checks) || r.checks.length > 64) throw bad('.checks must be a list of at most 64 checks');
  const checks = r.checks.map((c: unknown) => {
    const x = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof x.name !== 'string' || !/^[a-z_]{1,64}$/.test(x.name) || typeof x.value !== 'number' || typeof x.threshold !== 'number' || typeof x.alarm !== 'boolean') throw bad('.checks[] must be {name, value, threshold, alarm}');
    return { name: x.name, value: x.value, threshold: x.threshold, alarm: x.alarm };
  });
  return { records: r.records as number, baselineRecords: (r.baselineRecords as number | null) ?? null, baselineDigest, alarms: checks.filter((c) => c.alarm).map((c) => c.name), checks };
}

/** An evaluation's metrics: `{name: number}`, at most 64, names of letters, digits, `_ . -`; finite numbers only. */
function metricsField(v: unknown): Record<string, number> {
  const bad = (why: string) => new BadRequest('invalid_field', `metrics ${why}`, 'metrics');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('must be an object of metric name to number');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0 || entries.length > 64) throw bad('must hold 1 to 64 metrics');
  for (const [k, x] of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(k)) throw bad(`name ${JSON.stringify(k)} must be 1-64 letters, digits, _ . -`);
    if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`.${k} must be a finite number`);
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

/** The dataset as the API shows it: without the bundle text (GET /{id}?bundle=1 includes it). */
export function datasetView(d: DatasetRecord, withBundle = false): Record<string, unknown> {
  const { signatureBundle, ...rest } = d;
  return withBundle ? { ...rest, signatureBundle: JSON.parse(signatureBundle) as unknown } : rest;
}

/** The record sidecar for verification: the named file, else `<dir>/dataset.records` when present. */
async function readSidecar(path: string, explicit: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw new BadRequest('record_sidecar_unreadable', `cannot read the record sidecar ${path}: ${(e as Error).message}`, 'recordsPath');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequest('record_sidecar_invalid', `the record sidecar ${path} is not JSON`, 'recordsPath');
  }
}

export function createDatasetAdminRoute(o: { registry: DatasetRegistry; decideTrainOn: (sourceIp: string) => DecideTrainOn; decideEvaluateOn: (sourceIp: string) => DecideTrainOn; training: TrainingDataAccess }) {
  const reg = o.registry;
  return async function datasetAdminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const p = ar.path;
    const isSources = p === '/admin/v1/data-sources' || p.startsWith('/admin/v1/data-sources/');
    const isDatasets = p === '/admin/v1/datasets' || p.startsWith('/admin/v1/datasets/');
    const isTokens = p === '/admin/v1/training-tokens' || p.startsWith('/admin/v1/training-tokens/');
    if (!isSources && !isDatasets && !isTokens) return false;
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const send = (status: number, body: unknown) => {
      sendJson(res, status, body, { 'x-request-id': ar.requestId });
      return true;
    };
    const principal = ar.principal;

    if (p === '/admin/v1/training-tokens' && req.method === 'POST') {
      const b = await ar.body();
      const family = str(b, 'family', false);
      const ttl = b.ttlSec;
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0)) throw new BadRequest('invalid_field', 'ttlSec must be a positive integer', 'ttlSec');
      const datasets = list(b, 'datasets');
      if (b.slices !== undefined && !Array.isArray(b.slices)) throw new BadRequest('invalid_field', 'slices must be a list of {dataset, files?, records?}', 'slices');
      const purpose = str(b, 'purpose', false);
      const request = { model: str(b, 'model', true)!, tenant: await modelTenant(ar, b), datasets, ...(purpose !== undefined ? { purpose } : {}), ...(b.slices !== undefined ? { slices: b.slices as unknown[] } : {}), ...(family ? { family } : {}), ...(ttl !== undefined ? { ttlSec: ttl as number } : {}) };
      return send(201, await o.training.issue(principal, request, o.decideTrainOn(clientAddress(req))));
    }
    const tm = /^\/admin\/v1\/training-tokens\/([^/]+)\/end$/.exec(p);
    if (tm && req.method === 'POST') {
      const b = await ar.body();
      const outcome = (str(b, 'outcome', false) ?? 'complete').toUpperCase();
      if (outcome !== 'COMPLETE' && outcome !== 'FAIL') throw new BadRequest('invalid_field', 'outcome must be complete or fail', 'outcome');
      const error = str(b, 'error', false);
      if (outcome === 'FAIL' && error === undefined) throw new BadRequest('missing_field', 'a failed run needs the error it failed with', 'error');
      if (error !== undefined && error.length > 2000) throw new BadRequest('invalid_field', 'error must be at most 2000 characters', 'error');
      return send(200, await o.training.end(principal, decodeURIComponent(tm[1]!), { outcome, ...(error !== undefined ? { error } : {}) }));
    }

    if (p === '/admin/v1/data-sources') {
      if (req.method === 'GET') return send(200, { data: await reg.listSources(principal.tenant) });
      const b = await ar.body();
      const s = await reg.registerSource(principal, { id: str(b, 'id', true)!, publicKey: str(b, 'publicKey', true)!, owner: str(b, 'owner', true)!, ...(b.description !== undefined ? { description: str(b, 'description', false)! } : {}) });
      return send(201, s);
    }
    const sm = /^\/admin\/v1\/data-sources\/([^/]+)(?:\/(retire))?$/.exec(p);
    if (sm) {
      const id = decodeURIComponent(sm[1]!);
      if (!sm[2] && req.method === 'GET') return send(200, await reg.getSource(id, principal.tenant));
      if (sm[2] && req.method === 'POST') return send(200, await reg.retireSource(principal, id));
    }
    if (p === '/admin/v1/datasets') {
      if (req.method === 'GET') {
        const state = url.searchParams.get('state');
        if (state !== null && !STATES.includes(state as DatasetState)) throw new BadRequest('invalid_field', `state must be one of ${STATES.join(', ')}`, 'state');
        const name = url.searchParams.get('name');
        return send(200, { data: (await reg.list(principal.tenant, { ...(name ? { name } : {}), ...(state ? { state: state as DatasetState } : {}) })).map((d) => datasetView(d)) });
      }
      const b = await ar.body();
      const derivedFrom = str(b, 'derivedFrom', false);
      const transformation = str(b, 'transformation', false);
      if (transformation !== undefined && derivedFrom === undefined) throw new BadRequest('invalid_field', 'transformation describes a derived dataset: give derivedFrom too', 'transformation');
      if (transformation !== undefined && transformation.length > 2000) throw new BadRequest('invalid_field', 'transformation must be at most 2000 characters', 'transformation');
      const derived = derivedFrom !== undefined ? { parentId: derivedFrom, ...(transformation !== undefined ? { description: transformation } : {}) } : undefined;
      // The record field naming each record's data subject (a principal id): what erasing that subject withholds.
      const subjectField = str(b, 'subjectField', false);
      if (subjectField !== undefined && !SUBJECT_FIELD.test(subjectField)) throw new BadRequest('invalid_field', 'subjectField must be a JSONL field or CSV column name of 1 to 128 printable characters', 'subjectField');
      return send(201, datasetView(await reg.register(principal, b.signatureBundle, derived, subjectField ?? null)));
    }
    const dm = /^\/admin\/v1\/datasets\/([^/]+)(?:\/(verify|retire|lineage|train-on|screen|evaluate))?$/.exec(p);
    if (dm) {
      const id = decodeURIComponent(dm[1]!);
      if (dm[2] === 'train-on' && req.method === 'GET') return send(200, { data: await reg.trainDecisions(id, principal.tenant) });
      if (dm[2] === 'train-on' && req.method === 'POST') {
        const b = await ar.body();
        const family = str(b, 'family', false);
        const purpose = str(b, 'purpose', false);
        const model = { model: str(b, 'model', true)!, tenant: await modelTenant(ar, b), ...(family ? { family } : {}), ...(purpose !== undefined ? { purpose } : {}) };
        return send(200, await reg.trainOn(principal, id, model, o.decideTrainOn(clientAddress(req))));
      }
      if (dm[2] === 'evaluate' && req.method === 'POST') {
        const b = await ar.body();
        const family = str(b, 'family', false);
        const metrics = metricsField(b.metrics);
        const model = { model: str(b, 'model', true)!, tenant: await modelTenant(ar, b), ...(family ? { family } : {}) };
        const r = await reg.evaluate(principal, id, model, metrics, o.decideEvaluateOn(clientAddress(req)));
        return send(200, { ...r, dataset: datasetView(r.dataset) });
      }
      if (dm[2] === 'lineage' && req.method === 'GET') {
        const events = await reg.lineageOf(id, principal.tenant);
        return send(200, { events, mermaid: lineageMermaid(events.map((e) => e.event)), text: lineageText(events.map((e) => e.event)) });
      }
      if (!dm[2] && req.method === 'GET') return send(200, datasetView(await reg.get(id, principal.tenant), url.searchParams.get('bundle') === '1'));
      if (dm[2] === 'retire' && req.method === 'POST') return send(200, datasetView(await reg.retire(principal, id)));
      if (dm[2] === 'screen' && req.method === 'POST') {
        const b = await ar.body();
        const r = await reg.recordScreen(principal, id, digestField(b, 'digest', true)!, screenSummary(b.report, digestField(b, 'baselineDigest', false) ?? null));
        return send(200, { dataset: datasetView(r.dataset), lineageEvent: r.lineageEvent });
      }
      if (dm[2] === 'verify' && req.method === 'POST') {
        const b = await ar.body();
        const dir = absolute(b, 'path', true)!;
        const explicitRecords = absolute(b, 'recordsPath', false);
        const { dataset, bundle, key } = await reg.sourceKeyFor(principal, id);
        const { recordsPath } = datasetIgnorePaths(dir, explicitRecords ? { recordsPath: explicitRecords } : {});
        const sidecar = await readSidecar(recordsPath, explicitRecords !== undefined);
        let verified;
        try {
          verified = await verifyDataset(dir, bundle, key, { ignorePaths: list(b, 'ignorePaths'), ...(sidecar !== undefined ? { sidecar } : {}) });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return reg.refuseVerification(principal, id, new BadRequest('dataset_path_not_found', `no such file or directory on the gateway host: ${dir}`, 'path'));
          if (!(e instanceof WardenError)) throw e;
          const details: Record<string, string> = e instanceof DatasetManifestMismatch
            ? { path: dir, changed: e.changed.join(','), added: e.added.join(','), removed: e.removed.join(','), renamed: e.renamed.map((r) => `${r.from}->${r.to}`).join(','), records: e.records.slice(0, 20).map(describeRecord).join('; ') }
            : { path: dir };
          return reg.refuseVerification(principal, id, e, details);
        }
        // Declared and checked: the inspection plane's detectors over every record of the verified files.
        const m = verified.manifest.metadata;
        const scan = verified.records > 0 ? scanClassification(await readScreenRecords(dir, { allStrings: true }), { classification: m.classification, categories: m.categories }, { scheme: reg.classification }) : null;
        if (scan?.flagged) {
          return reg.refuseVerification(principal, id, new DatasetClassificationMismatch(scan.reasons.join('; ')), { path: dir, found: JSON.stringify(scan.found), records: scan.examples.map((e) => `${e.file} record ${e.index}`).join('; ') });
        }
        const after = await reg.markVerified(principal, dataset.id, verified, scan ? { implied: scan.implied, found: scan.found, scanned: scan.scanned } : null, dir);
        return send(200, { ...datasetView(after), files: verified.files, bytes: verified.bytes, records: verified.records });
      }
    }
    throw new NotFound('route_not_found', `no such endpoint: ${req.method} ${p}`);
  };
}
