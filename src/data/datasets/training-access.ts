// Least privilege for training pipelines (issue 15): a training job holds a short-lived token naming the
// datasets approved for its model, and reads their records through Warden.
//   issue: POST /admin/v1/training-tokens (admin listener). The PDP is asked trainOn for the model and each
//          dataset now (each decision a ledger entry, as `warden data train-on`); one deny refuses the token.
//          The token is a Warden JIT token whose subject is the model (Service `model:<name>`), whose only
//          action is trainOn and whose `datasets` claim lists the datasets: a ceiling, never a grant.
//   read:  GET /v1/datasets/{id}/records?file=F&offset=N&limit=M (inference listener). Each read is authorized
//          again (the token names the dataset, the dataset is still verified, the PDP still says trainOn) and
//          is a ledger entry, allow or deny; each record served is proven against the signed record root.
//   end:   the run the token started (an OpenLineage START event, run id = the token's jti) ends once: an admin
//          ends it (POST /admin/v1/training-tokens/{jti}/end: COMPLETE, or FAIL with an error; the token is
//          revoked), or the sweep finds its token expired (COMPLETE). Each end is a ledger entry chaining its event.
import type { Clock } from '../../core/clock.js';
import { BadRequest, NotFound, WardenError } from '../../core/errors.js';
import type { Decision, Principal } from '../../core/types.js';
import type { DatasetRecord, DatasetsStore, RecordErasure, TrainingRunRecord } from '../../store/datasets-store.js';
import { csvFields } from '../screen/read.js';
import type { RecordFormat } from './records.js';
import { parseBundle } from '../../workload/signing/bundle.js';
import { dataEvent } from './audit.js';
import { lineageDigest, trainingRunEndEvent, trainingRunEvent, type LineageEvent } from '../lineage/openlineage.js';
import { DatasetNotInTokenScope, DatasetNotReadable, TrainingRunEnded, TrainingRunNotFound, TrainingTokenRequired, TrainOnDenied } from './errors.js';
import { parseDatasetStatement } from './manifest.js';
import { VerifiedRecordReader, type SignedRecordFile } from './record-reader.js';
import { modelPrincipal, purposeOf, type AuditSink, type DatasetRegistry, type DecideTrainOn } from './registry.js';
import { clampToSlices, grantsOn, parseSlice, sliceClaim, type DatasetSlice } from './slices.js';

/** Mints a Warden JIT token for `subject` (its scope is the token's ceiling) and registers its policy cap. */
export type MintTrainingToken = (subject: Principal, ttlSec: number | undefined) => Promise<{ accessToken: string; tokenType: string; expiresIn: number; jti: string }>;

export interface TrainingTokenRequest {
  model: string;
  family?: string;
  tenant: string;
  /** What the model is trained for: the Cedar context's `purpose` for trainOn, at issue and on every read. */
  purpose?: string;
  datasets: string[];
  /** Slices of datasets (some files, a record range) the token may read instead of the whole datasets. */
  slices?: unknown[];
  ttlSec?: number;
}

const MAX_DATASETS = 64;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null) return dflt;
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw new BadRequest('invalid_field', `${name} must be an integer from ${min} to ${max}`, name);
  return Number(v);
}

export class TrainingDataAccess {
  private readonly reader = new VerifiedRecordReader();
  /** Signed record files per dataset id (a dataset's manifest never changes once registered). */
  private readonly manifests = new Map<string, SignedRecordFile[]>();

  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(private readonly d: {
    registry: DatasetRegistry;
    /** Where training runs and erased records are kept (the registry's store). */
    runs: Pick<DatasetsStore, 'insertTrainingRun' | 'getTrainingRun' | 'endTrainingRun' | 'reopenTrainingRun' | 'expiredTrainingRuns' | 'insertRecordErasures' | 'erasedRecords'>;
    audit: AuditSink;
    clock: Clock;
    mint: MintTrainingToken;
    /** Revokes a training token (its run ended before it expired). */
    revoke: (jti: string, expiresAt: number) => Promise<void>;
    decideRead: (sourceIp: string) => DecideTrainOn;
    onError?: (e: Error) => void;
  }) {}

  /** POST /admin/v1/training-tokens: trainOn for every dataset (each decision recorded), then one token naming them. */
  async issue(admin: Principal, r: TrainingTokenRequest, decide: DecideTrainOn): Promise<Record<string, unknown>> {
    const whole = [...new Set(r.datasets)];
    if ((r.slices ?? []).length > MAX_DATASETS) throw new BadRequest('invalid_field', `slices must name at most ${MAX_DATASETS} slices`, 'slices');
    const slices: DatasetSlice[] = [];
    for (const s of r.slices ?? []) {
      slices.push(await parseSlice(s, async (id) => this.recordFiles(await this.d.registry.get(id, admin.tenant)).map((f) => f.name)));
    }
    const ids = [...new Set([...whole, ...slices.map((s) => s.dataset)])];
    if (ids.length === 0 || ids.length > MAX_DATASETS) throw new BadRequest('invalid_field', `datasets and slices must name 1 to ${MAX_DATASETS} datasets`, 'datasets');
    const model = { model: r.model, tenant: r.tenant, ...(r.family !== undefined ? { family: r.family } : {}), ...(r.purpose !== undefined ? { purpose: r.purpose } : {}) };
    // The token's ceiling: whole datasets by id, slices as their claim strings (a dataset named whole needs no slice).
    const claims = [...whole, ...new Set(slices.filter((s) => !whole.includes(s.dataset)).map(sliceClaim))];
    const subject = modelPrincipal(admin, model, claims);
    for (const id of ids) {
      const ds = await this.d.registry.get(id, admin.tenant);
      if (ds.state === 'verified' && readablePath(ds) === null) await this.refuse(admin, 'data.trainingToken.issue', id, new DatasetNotReadable(id, 'it was verified before the gateway recorded where its files are'), { model: r.model });
      // Records the decision (allow or deny) in the ledger and the registry; a deny throws TrainOnDenied.
      await this.d.registry.trainOn(admin, id, model, decide);
    }
    const t = await this.d.mint(subject, r.ttlSec);
    // The training run starts: an OpenLineage START event (datasets → model), its run id the token's jti, chained
    // into the ledger by its digest in the issue entry, then stored with each dataset's lineage.
    const now = this.d.clock.now();
    const event = trainingRunEvent({ at: now, runId: t.jti, principal: admin.id, model: r.model, datasets: await Promise.all(ids.map((id) => this.d.registry.get(id, admin.tenant))) });
    const digest = lineageDigest(event);
    await this.d.audit(dataEvent({
      at: now, principal: admin, action: 'data.trainingToken.issue', resource: { type: 'Principal', id: subject.id }, decision: 'allow', status: 201,
      details: { model: r.model, tenant: r.tenant, ...(r.purpose !== undefined ? { purpose: r.purpose } : {}), datasets: ids.join(','), scope: claims.join(' '), jti: t.jti, expiresIn: t.expiresIn, lineageEvent: digest },
    }));
    await this.d.runs.insertTrainingRun({ runId: t.jti, tenant: admin.tenant, model: r.model, datasets: ids, issuedBy: admin.id, startedAt: now, expiresAt: now + t.expiresIn * 1000, endedAt: null, outcome: null });
    await this.d.registry.addLineage(ids, digest, event);
    return { access_token: t.accessToken, token_type: t.tokenType, expires_in: t.expiresIn, jti: t.jti, principal: subject.id, tenant: r.tenant, datasets: ids, scope: claims };
  }

  /** GET /v1/datasets/{id}/records: the caller is the model a training token names. */
  async read(call: { principal: Principal; sourceIp: string; requestId: string; datasetId: string; query: URLSearchParams }): Promise<Record<string, unknown>> {
    const { principal: p, datasetId: id, query: q } = call;
    const fail = (err: WardenError, details: Record<string, string | number> = {}) => this.refuse(p, 'data.dataset.read', id, err, details, call.requestId);
    // The token's dataset list is checked first, so a token cannot probe which other datasets exist.
    if (p.scope.datasets === undefined) return fail(new TrainingTokenRequired());
    const grants = grantsOn(p.scope.datasets, id);
    if (!grants.whole && grants.slices.length === 0) return fail(new DatasetNotInTokenScope(id));
    let ds: DatasetRecord;
    try {
      // The token's tenant (its model's): a dataset of another tenant is not found, and refused.
      ds = await this.d.registry.get(id, p.tenant);
    } catch (e) {
      return fail(e as WardenError);
    }
    if (ds.state !== 'verified') return fail(new DatasetNotReadable(id, `it is ${ds.state}`));
    const dir = readablePath(ds);
    if (dir === null) return fail(new DatasetNotReadable(id, 'it was verified before the gateway recorded where its files are'));
    let fileName: string, offset: number, limit: number;
    try {
      fileName = q.get('file') ?? '';
      if (fileName === '') throw new BadRequest('missing_field', 'file is required (a JSONL or CSV file of the dataset)', 'file');
      offset = intParam(q, 'offset', 0, 0, 2 ** 32);
      limit = intParam(q, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT);
    } catch (e) {
      return fail(e as WardenError);
    }
    const file = this.recordFiles(ds).find((f) => f.name === fileName);
    if (!file) return fail(new NotFound('dataset_file_not_found', `${ds.name}@${ds.version} has no JSONL or CSV file ${fileName}`), { file: fileName });
    // A token naming only slices of the dataset reads inside them: the file, and records up to the slice's end.
    let end = Number.POSITIVE_INFINITY;
    if (!grants.whole) {
      try {
        ({ limit, end } = clampToSlices(grants.slices, fileName, offset, limit));
      } catch (e) {
        return fail(e as WardenError, { file: fileName, offset });
      }
    }
    // The purpose the token was issued for (signed into it) is asked again with every read.
    const decision: Decision = this.d.decideRead(call.sourceIp)(p, { type: 'Dataset', id, attrs: { classification: ds.classification, tenant: ds.tenant, categories: ds.categories } }, purposeOf(p));
    const policy = { policyIds: decision.policyIds.join(','), policyVersion: decision.policyVersion };
    if (!decision.allow) return fail(new TrainOnDenied(`policy does not let ${p.id} train on ${ds.name}@${ds.version} (${ds.classification})`), { file: fileName, ...policy });
    let out;
    try {
      out = await this.reader.read(id, dir, file, offset, limit, MAX_ANSWER_BYTES);
    } catch (e) {
      if (e instanceof WardenError) return fail(e, { file: fileName, offset });
      throw e;
    }
    const next = offset + out.records.length < Math.min(out.total, end) && out.records.length > 0 ? offset + out.records.length : null;
    // Records whose data subject was erased are withheld: their index stays (the others' proofs still verify), never their content.
    const erased = new Set(out.records.length > 0 ? await this.d.runs.erasedRecords(id, fileName, offset, offset + out.records.length) : []);
    const records = out.records.map((r) => (erased.has(r.index) ? { index: r.index, erased: true } : r));
    // Durable before release: the read is in the ledger before a record leaves.
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: p, action: 'data.dataset.read', resource: { type: 'Dataset', id }, decision: 'allow', status: 200,
      requestId: call.requestId, kind: 'inference', policyIds: decision.policyIds, policyVersion: decision.policyVersion,
      details: { name: ds.name, version: ds.version, digest: ds.digest, file: fileName, offset, count: out.records.length, total: out.total, ...(erased.size > 0 ? { withheld: erased.size } : {}), ...(grants.whole ? {} : { slice: true }) },
    }));
    return { dataset: id, name: ds.name, version: ds.version, digest: ds.digest, file: fileName, root: file.root, offset, total: out.total, next, records };
  }

  /**
   * The records of `tenant`'s verified datasets that declare a subject field and name `subject` in it, not yet
   * erased. Read the way the data read API reads them (each proven against its signed leaf), so the indexes
   * erased are the indexes a training job would have been served.
   */
  async subjectRecords(subject: string, tenant: string): Promise<RecordErasure[]> {
    const found: RecordErasure[] = [];
    const at = this.d.clock.now();
    for (const ds of await this.d.registry.list(tenant, { state: 'verified' })) {
      const dir = readablePath(ds);
      if (ds.subjectField === null || dir === null) continue;
      for (const f of this.recordFiles(ds)) {
        const matches = subjectMatcher(f.format, ds.subjectField, subject);
        const hits: number[] = [];
        for (let offset = 0; offset < f.count;) {
          const { records } = await this.reader.read(ds.id, dir, f, offset, MAX_LIMIT, MAX_ANSWER_BYTES);
          for (const r of records) if (matches(r.index, r.text)) hits.push(r.index);
          offset += records.length;
        }
        const already = new Set(hits.length > 0 ? await this.d.runs.erasedRecords(ds.id, f.name, hits[0]!, hits[hits.length - 1]! + 1) : []);
        for (const index of hits) if (!already.has(index)) found.push({ datasetId: ds.id, file: f.name, index, erasedAt: at });
      }
    }
    return found;
  }

  /** Right to erasure (issue 16): withholds `subject`'s records from now on; how many were newly withheld. */
  async eraseSubject(subject: string, tenant: string): Promise<number> {
    return this.d.runs.insertRecordErasures(await this.subjectRecords(subject, tenant));
  }

  /**
   * POST /admin/v1/training-tokens/{jti}/end: the admin ends the run (COMPLETE, or FAIL with `error`). The token is
   * revoked first (ending never leaves it usable), then the end is a ledger entry chaining its event, then the run
   * is closed (compare-and-set: the run ends once, whoever is first) and the event stored with each dataset.
   */
  async end(admin: Principal, runId: string, r: { outcome: 'COMPLETE' | 'FAIL'; error?: string }): Promise<Record<string, unknown>> {
    const action = 'data.trainingRun.end';
    const run = await this.d.runs.getTrainingRun(runId);
    // Another tenant's run is not found, as another tenant's dataset is not.
    if (!run || run.tenant !== admin.tenant) return this.refuseRun(admin, action, runId, new TrainingRunNotFound(runId));
    if (run.endedAt !== null) return this.refuseRun(admin, action, runId, new TrainingRunEnded(runId, run.outcome));
    await this.d.revoke(runId, run.expiresAt);
    const { event, digest } = await this.endEvent(run, admin.id, r.outcome, 'ended by an admin', r.error);
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: admin, action, resource: { type: 'System', id: `training-run:${runId}` }, decision: 'allow', status: 200,
      details: { model: run.model, datasets: run.datasets.join(','), outcome: r.outcome, reason: 'ended by an admin', lineageEvent: digest },
    }));
    if (!(await this.d.runs.endTrainingRun(runId, r.outcome, this.d.clock.now()))) {
      return this.refuseRun(admin, action, runId, new TrainingRunEnded(runId, (await this.d.runs.getTrainingRun(runId))?.outcome ?? null), { race: 'true' });
    }
    await this.d.registry.addLineage(run.datasets, digest, event);
    return { runId, model: run.model, datasets: run.datasets, outcome: r.outcome, lineageEvent: digest };
  }

  /**
   * Ends the runs whose token expired (COMPLETE). The run is claimed first, so of several replicas sweeping only
   * one writes the end; a claim whose ledger entry cannot be written is opened again for the next sweep.
   */
  sweepExpired(): Promise<number> {
    this.sweeping ??= (async () => {
      let ended = 0;
      try {
        for (const run of await this.d.runs.expiredTrainingRuns(this.d.clock.now(), 100)) {
          if (!(await this.d.runs.endTrainingRun(run.runId, 'COMPLETE', this.d.clock.now()))) continue;
          const { event, digest } = await this.endEvent(run, null, 'COMPLETE', 'token expired');
          try {
            await this.d.audit(dataEvent({
              at: this.d.clock.now(), principal: null, action: 'data.trainingRun.end', resource: { type: 'System', id: `training-run:${run.runId}` }, decision: 'allow', status: 200,
              details: { model: run.model, tenant: run.tenant, datasets: run.datasets.join(','), outcome: 'COMPLETE', reason: 'token expired', lineageEvent: digest },
            }));
          } catch (e) {
            await this.d.runs.reopenTrainingRun(run.runId);
            throw e;
          }
          await this.d.registry.addLineage(run.datasets, digest, event);
          ended++;
        }
      } finally {
        this.sweeping = null;
      }
      return ended;
    })();
    return this.sweeping;
  }

  start(intervalMs: number): void {
    this.sweepTimer = setInterval(() => void this.sweepExpired().catch((e: Error) => this.d.onError?.(e)), intervalMs);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => undefined);
  }

  private async endEvent(run: TrainingRunRecord, principal: string | null, outcome: 'COMPLETE' | 'FAIL', reason: string, error?: string): Promise<{ event: LineageEvent; digest: string }> {
    // The datasets as they are now, read from the run's own tenant (a dataset retired meanwhile shows as retired).
    const datasets = await Promise.all(run.datasets.map((id) => this.d.registry.get(id, run.tenant)));
    const event = trainingRunEndEvent({ at: this.d.clock.now(), runId: run.runId, principal, model: run.model, datasets, eventType: outcome, reason, ...(error !== undefined ? { error } : {}) });
    return { event, digest: lineageDigest(event) };
  }

  private async refuseRun(admin: Principal, action: string, runId: string, err: WardenError, details: Record<string, string> = {}): Promise<never> {
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: admin, action, resource: { type: 'System', id: `training-run:${runId}` }, decision: 'deny', status: err.status, errorCode: err.code,
      details: { ...details, reason: err.message },
    }));
    throw err;
  }

  private recordFiles(ds: DatasetRecord): SignedRecordFile[] {
    let files = this.manifests.get(ds.id);
    if (!files) {
      const m = parseDatasetStatement(Buffer.from(parseBundle(ds.signatureBundle).dsseEnvelope.payload, 'base64'));
      files = m.files.flatMap((f) => (f.records ? [{ name: f.name, format: f.records.format, count: f.records.count, root: f.records.root }] : []));
      this.manifests.set(ds.id, files);
    }
    return files;
  }

  /** Records the refusal in the ledger (marked, so the gateway does not write a second entry) and throws it. */
  private async refuse(p: Principal, action: string, id: string, err: WardenError, details: Record<string, string | number> = {}, requestId?: string): Promise<never> {
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: p, action, resource: { type: 'Dataset', id }, decision: 'deny', status: err.status, errorCode: err.code,
      ...(requestId !== undefined ? { requestId, kind: 'inference' as const } : {}),
      details: { ...details, reason: err.message },
    }));
    (err as WardenError & { audited?: boolean }).audited = true;
    throw err;
  }
}

/**
 * Whether a record names `subject` in `field`: a JSONL record's top-level field, a CSV record's column of that
 * header name (the header, record 0, is no one's). A record that does not parse names no one.
 */
function subjectMatcher(format: RecordFormat, field: string, subject: string): (index: number, text: string) => boolean {
  if (format === 'jsonl') {
    return (_i, text) => {
      try {
        const v = JSON.parse(text) as unknown;
        return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>)[field] === subject;
      } catch {
        return false;
      }
    };
  }
  let column = -1;
  return (index, text) => {
    if (index === 0) {
      column = csvFields(text).indexOf(field);
      return false;
    }
    return column >= 0 && csvFields(text)[column] === subject;
  };
}

function readablePath(ds: DatasetRecord): string | null {
  const v = ds.verification as { path?: unknown } | null;
  return typeof v?.path === 'string' ? v.path : null;
}
