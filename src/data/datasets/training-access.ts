// Least privilege for training pipelines (issue 15): a training job holds a short-lived token naming the
// datasets approved for its model, and reads their records through Warden.
//   issue: POST /admin/v1/training-tokens (admin listener). The PDP is asked trainOn for the model and each
//          dataset now (each decision a ledger entry, as `warden data train-on`); one deny refuses the token.
//          The token is a Warden JIT token whose subject is the model (Service `model:<name>`), whose only
//          action is trainOn and whose `datasets` claim lists the datasets: a ceiling, never a grant.
//   read:  GET /v1/datasets/{id}/records?file=F&offset=N&limit=M (inference listener). Each read is authorized
//          again (the token names the dataset, the dataset is still verified, the PDP still says trainOn) and
//          is a ledger entry, allow or deny; each record served is proven against the signed record root.
import type { Clock } from '../../core/clock.js';
import { BadRequest, NotFound, WardenError } from '../../core/errors.js';
import type { Decision, Principal } from '../../core/types.js';
import type { DatasetRecord } from '../../store/datasets-store.js';
import { parseBundle } from '../../workload/signing/bundle.js';
import { dataEvent } from './audit.js';
import { lineageDigest, trainingRunEvent } from '../lineage/openlineage.js';
import { DatasetNotInTokenScope, DatasetNotReadable, TrainingTokenRequired, TrainOnDenied } from './errors.js';
import { parseDatasetStatement } from './manifest.js';
import { VerifiedRecordReader, type SignedRecordFile } from './record-reader.js';
import { modelPrincipal, type AuditSink, type DatasetRegistry, type DecideTrainOn } from './registry.js';

/** Mints a Warden JIT token for `subject` (its scope is the token's ceiling) and registers its policy cap. */
export type MintTrainingToken = (subject: Principal, ttlSec: number | undefined) => Promise<{ accessToken: string; tokenType: string; expiresIn: number; jti: string }>;

export interface TrainingTokenRequest {
  model: string;
  family?: string;
  tenant: string;
  datasets: string[];
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

  constructor(private readonly d: { registry: DatasetRegistry; audit: AuditSink; clock: Clock; mint: MintTrainingToken; decideRead: (sourceIp: string) => DecideTrainOn }) {}

  /** POST /admin/v1/training-tokens: trainOn for every dataset (each decision recorded), then one token naming them. */
  async issue(admin: Principal, r: TrainingTokenRequest, decide: DecideTrainOn): Promise<Record<string, unknown>> {
    const ids = [...new Set(r.datasets)];
    if (ids.length === 0 || ids.length > MAX_DATASETS) throw new BadRequest('invalid_field', `datasets must name 1 to ${MAX_DATASETS} datasets`, 'datasets');
    const model = { model: r.model, tenant: r.tenant, ...(r.family !== undefined ? { family: r.family } : {}) };
    const subject = modelPrincipal(admin, model, ids);
    for (const id of ids) {
      const ds = await this.d.registry.get(id, admin.tenant);
      if (ds.state === 'verified' && readablePath(ds) === null) await this.refuse(admin, 'data.trainingToken.issue', id, new DatasetNotReadable(id, 'it was verified before the gateway recorded where its files are'), { model: r.model });
      // Records the decision (allow or deny) in the ledger and the registry; a deny throws TrainOnDenied.
      await this.d.registry.trainOn(admin, id, model, decide);
    }
    const t = await this.d.mint(subject, r.ttlSec);
    // The training run starts: an OpenLineage START event (datasets → model), its run id the token's jti, chained
    // into the ledger by its digest in the issue entry, then stored with each dataset's lineage.
    const event = trainingRunEvent({ at: this.d.clock.now(), runId: t.jti, principal: admin.id, model: r.model, datasets: await Promise.all(ids.map((id) => this.d.registry.get(id, admin.tenant))) });
    const digest = lineageDigest(event);
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: admin, action: 'data.trainingToken.issue', resource: { type: 'Principal', id: subject.id }, decision: 'allow', status: 201,
      details: { model: r.model, tenant: r.tenant, datasets: ids.join(','), jti: t.jti, expiresIn: t.expiresIn, lineageEvent: digest },
    }));
    await this.d.registry.addLineage(ids, digest, event);
    return { access_token: t.accessToken, token_type: t.tokenType, expires_in: t.expiresIn, jti: t.jti, principal: subject.id, tenant: r.tenant, datasets: ids };
  }

  /** GET /v1/datasets/{id}/records: the caller is the model a training token names. */
  async read(call: { principal: Principal; sourceIp: string; requestId: string; datasetId: string; query: URLSearchParams }): Promise<Record<string, unknown>> {
    const { principal: p, datasetId: id, query: q } = call;
    const fail = (err: WardenError, details: Record<string, string | number> = {}) => this.refuse(p, 'data.dataset.read', id, err, details, call.requestId);
    // The token's dataset list is checked first, so a token cannot probe which other datasets exist.
    if (p.scope.datasets === undefined) return fail(new TrainingTokenRequired());
    if (!p.scope.datasets.includes(id)) return fail(new DatasetNotInTokenScope(id));
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
    const decision: Decision = this.d.decideRead(call.sourceIp)(p, { type: 'Dataset', id, attrs: { classification: ds.classification, tenant: ds.tenant } });
    const policy = { policyIds: decision.policyIds.join(','), policyVersion: decision.policyVersion };
    if (!decision.allow) return fail(new TrainOnDenied(`policy does not let ${p.id} train on ${ds.name}@${ds.version} (${ds.classification})`), { file: fileName, ...policy });
    let out;
    try {
      out = await this.reader.read(id, dir, file, offset, limit, MAX_ANSWER_BYTES);
    } catch (e) {
      if (e instanceof WardenError) return fail(e, { file: fileName, offset });
      throw e;
    }
    const next = offset + out.records.length < out.total && out.records.length > 0 ? offset + out.records.length : null;
    // Durable before release: the read is in the ledger before a record leaves.
    await this.d.audit(dataEvent({
      at: this.d.clock.now(), principal: p, action: 'data.dataset.read', resource: { type: 'Dataset', id }, decision: 'allow', status: 200,
      requestId: call.requestId, kind: 'inference', policyIds: decision.policyIds, policyVersion: decision.policyVersion,
      details: { name: ds.name, version: ds.version, digest: ds.digest, file: fileName, offset, count: out.records.length, total: out.total },
    }));
    return { dataset: id, name: ds.name, version: ds.version, digest: ds.digest, file: fileName, root: file.root, offset, total: out.total, next, records: out.records };
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

function readablePath(ds: DatasetRecord): string | null {
  const v = ds.verification as { path?: unknown } | null;
  return typeof v?.path === 'string' ? v.path : null;
}
