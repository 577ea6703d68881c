// The dataset registry: data sources (identities with a key, registered by an admin) and datasets
//   registered (manifest signed by a registered, active source) → verified (files hashed and matched) → retired
// A dataset is admitted only with a DSSE in-toto statement that verifies under the key of the source it names;
// unsigned, anonymous or unknown-source data is refused. Every change, and every refusal of one, goes to the
// injected `audit` (the ledger) BEFORE the state changes: if the ledger cannot take it, nothing changes.
import { createPublicKey } from 'node:crypto';
import { BadRequest, WardenError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { newId } from '../../core/ids.js';
import type { AuditEvent, Decision, Principal, Resource } from '../../core/types.js';
import type { DataSourceRecord, DatasetRecord, DatasetState, DatasetsStore, TrainDecisionRecord } from '../../store/datasets-store.js';
import { parseBundle, serializeBundle, type SignatureBundle } from '../../workload/signing/bundle.js';
import { keyAlgorithmOf, loadPublicKey, publicKeyPem } from '../../workload/signing/keys.js';
import { signerIdentityOf } from '../../workload/signing/verify-model.js';
import { dataEvent } from './audit.js';
import { evaluationRunEvent, lineageDigest, lineageEvent, screenRunEvent, transformRunEvent, type LineageEvent, type ScreenSummary } from '../lineage/openlineage.js';
import {
  DataSourceExists, DataSourceNotFound, DatasetInvalidTransition, DatasetManifestInvalid, DatasetNotFound, DatasetUnsigned,
  DatasetVersionExists, TrainOnDenied, UntrustedDataSource, DatasetRetentionTooLong, ScreenDigestMismatch, DatasetParentRetired, EvaluateOnDenied,
} from './errors.js';
import { parseDatasetStatement, type DatasetManifest } from './manifest.js';
import { DEFAULT_SCHEME, type ClassificationScheme } from '../../inspect/classification.js';
import { authenticateManifest, type VerifiedDataset } from './verify-dataset.js';

export type AuditSink = (event: AuditEvent) => void | Promise<void>;

/**
 * The PDP's trainOn decision for a model principal and a dataset resource (injected by the composition root);
 * `purpose`, when the request names one, is the Cedar context's `purpose`.
 */
export type DecideTrainOn = (model: Principal, dataset: Resource & { attrs: Record<string, unknown> }, purpose?: string) => Decision;

/** What a model is trained for, as a request names it: a short lower-case word (`research`, `fraud-detection`). */
const PURPOSE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PURPOSE_GROUP = 'purpose:';

/** The purpose a training token's model principal carries (its `purpose:<p>` group, signed into the token), if any. */
export function purposeOf(p: Principal): string | undefined {
  return p.groups.find((g) => g.startsWith(PURPOSE_GROUP))?.slice(PURPOSE_GROUP.length);
}

/** The dataset as trainOn / evaluateOn see it: classification, tenant and data categories. */
const datasetResource = (d: DatasetRecord): Resource & { attrs: Record<string, unknown> } => ({ type: 'Dataset', id: d.id, attrs: { classification: d.classification, tenant: d.tenant, categories: d.categories } });

export interface DatasetRegistryDeps {
  store: DatasetsStore;
  audit: AuditSink;
  clock?: Clock;
  /** Each lineage event once stored and chained into the ledger (the OpenLineage export's outbox, when configured). */
  onLineage?: (digest: string, event: LineageEvent) => Promise<void>;
  /** The longest a class's data may be kept (placement.classes.<class>.retention); undefined: no limit. */
  classRetention?: (classification: string) => string | undefined;
  /** The configured classification levels a manifest may declare (absent: the four built-in ones). */
  classification?: ClassificationScheme;
}

const DAY = 86_400_000;

/**
 * The longest an ISO 8601 duration of the manifest (`P1Y2M3W4D`) can be: a year counted as 366 days, a month as
 * 31, so a manifest is never judged shorter than it may turn out to be.
 */
export function isoRetentionMaxMs(iso: string): number {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/.exec(iso);
  if (!m) return Number.POSITIVE_INFINITY;
  const [y, mo, w, d] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number];
  return (y * 366 + mo * 31 + w * 7 + d) * DAY;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

const SOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

const dsResource = (id: string): Resource => ({ type: 'Dataset', id });
// A source is its tenant's: two tenants may both have a source `vendor`, so the ledger names the tenant too.
const sourceResource = (tenant: string, id: string): Resource => ({ type: 'System', id: `data-source:${tenant}/${id}` });

/** The model a trainOn / evaluateOn question is about, and (trainOn) the purpose it is trained for. */
export interface ModelAsked {
  model: string;
  tenant: string;
  family?: string;
  purpose?: string;
}

/**
 * The model as the PDP sees it for trainOn: the Service `model:<name>` of `tenant`, in groups `model:<name>` and
 * `family:<family>`, carrying the asking admin's authentication (so a training token minted for it dies with the
 * admin's credential). `datasets` narrows it further (a training token's ceiling).
 */
export function modelPrincipal(admin: Principal, m: ModelAsked, datasets?: string[], action: 'trainOn' | 'evaluateOn' = 'trainOn'): Principal {
  if (!MODEL_NAME.test(m.model)) throw new BadRequest('invalid_field', 'model must be a model name', 'model');
  if (m.family !== undefined && !MODEL_NAME.test(m.family)) throw new BadRequest('invalid_field', 'family must be a name', 'family');
  if (m.purpose !== undefined && !PURPOSE.test(m.purpose)) throw new BadRequest('invalid_field', 'purpose must be 1-64 characters of a-z 0-9 . _ - (starting with a letter or digit)', 'purpose');
  return {
    kind: 'service', id: `model:${m.model}`, tenant: m.tenant,
    // The purpose rides in a group so that a training token carries it, signed, to every read's trainOn question.
    groups: [`model:${m.model}`, ...(m.family ? [`family:${m.family}`] : []), ...(m.purpose !== undefined ? [`${PURPOSE_GROUP}${m.purpose}`] : [])],
    authn: admin.authn, scope: { models: ['*'], actions: [action], ...(datasets ? { datasets } : {}) },
  };
}

export class DatasetRegistry {
  private readonly store: DatasetsStore;
  private readonly auditSink: AuditSink;
  private readonly clock: Clock;
  private readonly onLineage: DatasetRegistryDeps['onLineage'];

  /** The levels a dataset may be classified at, and how the verify scan ranks what it finds. */
  readonly classification: ClassificationScheme;

  constructor(d: DatasetRegistryDeps) {
    this.classification = d.classification ?? DEFAULT_SCHEME;
    this.store = d.store;
    this.auditSink = d.audit;
    this.clock = d.clock ?? systemClock;
    this.onLineage = d.onLineage;
    this.classRetention = d.classRetention;
  }

  private readonly classRetention: DatasetRegistryDeps['classRetention'];

  private async record(principal: Principal | null, action: string, resource: Resource | null, details: Record<string, string | number | boolean | null>, err?: WardenError): Promise<void> {
    await this.auditSink(dataEvent({
      at: this.clock.now(), principal, action, resource, decision: err ? 'deny' : 'allow', status: err ? err.status : 200,
      ...(err ? { errorCode: err.code, details: { ...details, reason: err.message } } : { details }),
    }));
  }

  /** Records the refusal in the ledger, then throws it. */
  private async refuse(principal: Principal | null, action: string, resource: Resource | null, err: WardenError, details: Record<string, string | number | boolean | null> = {}): Promise<never> {
    await this.record(principal, action, resource, details, err);
    throw err;
  }

  // --- sources -----------------------------------------------------------------------------------

  /** The source, seen from `tenant`: another tenant's source is not found (its existence is not revealed). */
  async getSource(id: string, tenant: string): Promise<DataSourceRecord> {
    const s = await this.store.getSource(tenant, id);
    if (!s) throw new DataSourceNotFound(id);
    return s;
  }

  listSources(tenant: string): Promise<DataSourceRecord[]> {
    return this.store.listSources(tenant);
  }

  async registerSource(principal: Principal, input: { id: string; publicKey: string; owner: string; description?: string }): Promise<DataSourceRecord> {
    const action = 'data.source.register';
    if (!SOURCE_ID.test(input.id)) throw new BadRequest('invalid_field', 'id must be 1-128 characters of A-Z a-z 0-9 . _ : @ -', 'id');
    const key = loadPublicKey(input.publicKey);
    const tenant = principal.tenant;
    if (await this.store.getSource(tenant, input.id)) return this.refuse(principal, action, sourceResource(tenant, input.id), new DataSourceExists(input.id));
    const rec: DataSourceRecord = {
      tenant, id: input.id, publicKeyPem: publicKeyPem(key), keyId: signerIdentityOf(key), algorithm: keyAlgorithmOf(key), owner: input.owner,
      description: input.description ?? '', createdAt: this.clock.now(), retiredAt: null,
    };
    await this.record(principal, action, sourceResource(tenant, rec.id), { source: rec.id, tenant, keyId: rec.keyId, owner: rec.owner });
    await this.store.insertSource(rec);
    return rec;
  }

  async retireSource(principal: Principal, id: string): Promise<DataSourceRecord> {
    const action = 'data.source.retire';
    const tenant = principal.tenant;
    const s = await this.getSource(id, tenant);
    if (s.retiredAt !== null) return this.refuse(principal, action, sourceResource(tenant, id), new DatasetInvalidTransition(id, 'retired', 'retire'));
    await this.record(principal, action, sourceResource(tenant, id), { source: id, tenant, keyId: s.keyId });
    await this.store.retireSource(tenant, id, this.clock.now());
    return this.getSource(id, tenant);
  }

  // --- datasets ----------------------------------------------------------------------------------

  /** The dataset, seen from `tenant`: another tenant's dataset is not found (its existence is not revealed). */
  async get(id: string, tenant: string): Promise<DatasetRecord> {
    const d = await this.store.getDataset(id);
    if (!d || d.tenant !== tenant) throw new DatasetNotFound(id);
    return d;
  }

  /** Every tenant's datasets (the platform inventory only: never an answer to a tenant's own request). */
  listAll(): Promise<DatasetRecord[]> {
    return this.store.listDatasets();
  }

  list(tenant: string, filter: { name?: string; state?: DatasetState } = {}): Promise<DatasetRecord[]> {
    return this.store.listDatasets({ ...filter, tenant });
  }

  /** The datasets of that digest in each of `tenants`, in that order (the promotion gate's lookup). */
  async byDigest(digest: string, tenants: readonly string[]): Promise<DatasetRecord[]> {
    return (await Promise.all([...new Set(tenants)].map((t) => this.store.findByDigest(digest, t)))).flat();
  }

  /**
   * The active source of `tenant` a manifest names, and the manifest authenticated under its key; refusals are
   * audited. Another tenant's source of the same name is unknown here: its key never admits this tenant's data.
   */
  private async authenticate(principal: Principal, tenant: string, action: string, resource: Resource | null, bundle: SignatureBundle): Promise<{ source: DataSourceRecord; manifest: DatasetManifest }> {
    let claimed: DatasetManifest;
    try {
      // Read only to learn which source to check; nothing of it is used until the signature verifies.
      claimed = parseDatasetStatement(Buffer.from(bundle.dsseEnvelope.payload, 'base64'), this.classification.levels);
    } catch (e) {
      return this.refuse(principal, action, resource, e instanceof WardenError ? e : new DatasetManifestInvalid((e as Error).message));
    }
    const sourceId = claimed.metadata.source;
    const source = await this.store.getSource(tenant, sourceId);
    const details = { source: sourceId, name: claimed.metadata.name, version: claimed.metadata.version };
    if (!source) return this.refuse(principal, action, resource, new UntrustedDataSource(`data source ${sourceId} is not registered`), details);
    if (source.retiredAt !== null) return this.refuse(principal, action, resource, new UntrustedDataSource(`data source ${sourceId} is retired`), details);
    try {
      return { source, manifest: authenticateManifest(bundle, createPublicKey(source.publicKeyPem)) };
    } catch (e) {
      if (!(e instanceof WardenError)) throw e;
      const err = e.code === 'model_signature_invalid' ? new UntrustedDataSource(`the manifest is not signed by data source ${sourceId}'s key (${source.keyId})`) : e;
      return this.refuse(principal, action, resource, err, details);
    }
  }

  /**
   * The parent a new dataset is derived from: a dataset of the caller's tenant that is not retired. Another
   * tenant's dataset is not found, exactly as an unknown one (its existence is not revealed). Refusals are recorded.
   */
  private async parentFor(principal: Principal, parentId: string): Promise<DatasetRecord> {
    const action = 'data.dataset.transform';
    const parent = await this.store.getDataset(parentId);
    if (!parent || parent.tenant !== principal.tenant) return this.refuse(principal, action, dsResource(parentId), new DatasetNotFound(parentId), { derivedFrom: parentId });
    if (parent.state === 'retired') return this.refuse(principal, action, dsResource(parentId), new DatasetParentRetired(parentId), { derivedFrom: parentId, name: parent.name, version: parent.version });
    return parent;
  }

  /**
   * Admits a dataset whose manifest a registered, active source signed. Metadata comes from the signed manifest only.
   * `derived`: the dataset is a transformation of another of this tenant (not retired); besides the register run,
   * a `data.dataset.transform` run from the parent version to the new one is recorded, so the lineage of the new
   * dataset reaches back through its parent to the parent's source.
   */
  async register(principal: Principal, bundleInput: unknown, derived?: { parentId: string; description?: string }, subjectField: string | null = null): Promise<DatasetRecord> {
    const action = 'data.dataset.register';
    if (bundleInput === undefined || bundleInput === null) return this.refuse(principal, action, null, new DatasetUnsigned());
    let bundle: SignatureBundle;
    try {
      bundle = parseBundle(bundleInput);
    } catch (e) {
      return this.refuse(principal, action, null, e as WardenError);
    }
    const { source, manifest } = await this.authenticate(principal, principal.tenant, action, null, bundle);
    const parent = derived ? await this.parentFor(principal, derived.parentId) : null;
    const m = manifest.metadata;
    if (await this.store.findDataset(principal.tenant, m.name, m.version)) return this.refuse(principal, action, null, new DatasetVersionExists(m.name, m.version), { name: m.name, version: m.version, digest: manifest.digest });
    // The class's retention bounds what a manifest may declare: `indefinite` or anything longer is refused.
    const allowed = this.classRetention?.(m.classification);
    if (allowed !== undefined && allowed !== 'indefinite' && (m.retention === 'indefinite' || isoRetentionMaxMs(m.retention) > parseDuration(allowed, `placement.classes.${m.classification}.retention`))) {
      return this.refuse(principal, action, null, new DatasetRetentionTooLong(m.retention, m.classification, allowed), { name: m.name, version: m.version, digest: manifest.digest });
    }
    const now = this.clock.now();
    const rec: DatasetRecord = {
      id: newId('ds'), tenant: principal.tenant, name: m.name, version: m.version, digest: manifest.digest, sourceId: source.id, signerIdentity: source.keyId,
      owner: m.owner, licence: m.licence, classification: m.classification, categories: m.categories, retention: m.retention,
      state: 'registered', signatureBundle: serializeBundle(bundle), files: manifest.files.length,
      records: manifest.files.reduce((s, f) => s + (f.records?.count ?? 0), 0), verification: null, createdAt: now, verifiedAt: null, retiredAt: null, subjectField,
    };
    const lineage = this.lineage(principal, 'data.dataset.register', rec, 'registered');
    const transform = parent ? transformRunEvent({ at: now, principal: principal.id, parent, dataset: rec, description: derived?.description ?? null }) : null;
    const transformDigest = transform ? lineageDigest(transform) : null;
    await this.record(principal, action, dsResource(rec.id), { name: rec.name, version: rec.version, digest: rec.digest, source: rec.sourceId, classification: rec.classification, to: 'registered', lineageEvent: lineage.digest, ...(parent ? { derivedFrom: parent.id } : {}), ...(subjectField !== null ? { subjectField } : {}) });
    if (parent) await this.record(principal, 'data.dataset.transform', dsResource(rec.id), { name: rec.name, version: rec.version, digest: rec.digest, derivedFrom: parent.id, parentDigest: parent.digest, lineageEvent: transformDigest });
    await this.store.insertDataset(rec);
    await this.addLineage([rec.id], lineage.digest, lineage.event);
    // Stored with both versions: the parent's lineage shows what was derived from it, the child's where it came from.
    if (parent && transform && transformDigest) await this.addLineage([rec.id, parent.id], transformDigest, transform);
    return rec;
  }

  /** The source's key for a registered dataset, refusing (audited) when the source is gone or retired. */
  async sourceKeyFor(principal: Principal, id: string): Promise<{ dataset: DatasetRecord; bundle: SignatureBundle; key: ReturnType<typeof createPublicKey> }> {
    const d = await this.get(id, principal.tenant);
    const bundle = parseBundle(d.signatureBundle);
    const { source } = await this.authenticate(principal, d.tenant, 'data.dataset.verify', dsResource(id), bundle);
    return { dataset: d, bundle, key: createPublicKey(source.publicKeyPem) };
  }

  /** registered → verified, given the files' verification under the source's key (hashing happens outside). */
  async markVerified(principal: Principal, id: string, v: VerifiedDataset, classificationScan: unknown = null, path: string | null = null): Promise<DatasetRecord> {
    const action = 'data.dataset.verify';
    const d = await this.get(id, principal.tenant);
    if (d.state !== 'registered') return this.refuse(principal, action, dsResource(id), new DatasetInvalidTransition(id, d.state, 'verify'));
    if (v.digest !== d.digest || v.signerIdentity !== d.signerIdentity) {
      return this.refuse(principal, action, dsResource(id), new DatasetManifestInvalid(`the files verified as ${v.digest} under ${v.signerIdentity}, not ${d.digest} under ${d.signerIdentity}`));
    }
    // `path`: where the gateway hashed the files; the data read API serves records from there (and nowhere else).
    const verification = { files: v.files, bytes: v.bytes, records: v.records, classificationScan, ...(path !== null ? { path } : {}) };
    const lineage = this.lineage(principal, action, d, 'verified');
    await this.record(principal, action, dsResource(id), { name: d.name, version: d.version, digest: d.digest, from: d.state, to: 'verified', files: v.files, bytes: v.bytes, lineageEvent: lineage.digest });
    if (!(await this.store.transition(id, 'registered', 'verified', { verification, at: this.clock.now() }))) {
      return this.refuse(principal, action, dsResource(id), new DatasetInvalidTransition(id, (await this.get(id, principal.tenant)).state, 'verify'), { race: true });
    }
    await this.addLineage([id], lineage.digest, lineage.event);
    return await this.get(id, principal.tenant);
  }

  /** Records a refused verification (a file or record that breaks it), with its FAIL lineage event, and rethrows it. */
  async refuseVerification(principal: Principal, id: string, err: WardenError, details: Record<string, string> = {}): Promise<never> {
    const action = 'data.dataset.verify';
    const d = await this.get(id, principal.tenant);
    const lineage = this.lineage(principal, action, d, d.state, `${err.code}: ${err.message}`);
    await this.record(principal, action, dsResource(id), { name: d.name, version: d.version, digest: d.digest, ...details, lineageEvent: lineage.digest }, err);
    await this.addLineage([id], lineage.digest, lineage.event);
    throw err;
  }

  /**
   * Records a poisoning screen of the dataset (run by `warden data screen --dataset`): an OpenLineage run of job
   * `data.dataset.screen` whose input is the dataset version, its figures in a `warden_screen` facet, chained into
   * the ledger like every other job. The files screened must hash to the dataset's digest (else refused, recorded).
   */
  async recordScreen(principal: Principal, id: string, screenedDigest: string, screen: ScreenSummary): Promise<{ dataset: DatasetRecord; lineageEvent: string }> {
    const action = 'data.dataset.screen';
    const d = await this.get(id, principal.tenant);
    const base = { name: d.name, version: d.version, digest: d.digest };
    if (screenedDigest !== d.digest) return this.refuse(principal, action, dsResource(id), new ScreenDigestMismatch(screenedDigest, d.digest, id), { ...base, screened: screenedDigest });
    const event = screenRunEvent({ at: this.clock.now(), principal: principal.id, dataset: { id, name: d.name, version: d.version, digest: d.digest, state: d.state }, screen });
    const digest = lineageDigest(event);
    await this.record(principal, action, dsResource(id), { ...base, records: screen.records, alarms: screen.alarms.join(','), baseline: screen.baselineDigest, lineageEvent: digest });
    await this.addLineage([id], digest, event);
    return { dataset: d, lineageEvent: digest };
  }

  async retire(principal: Principal, id: string): Promise<DatasetRecord> {
    const action = 'data.dataset.retire';
    const d = await this.get(id, principal.tenant);
    if (d.state === 'retired') return this.refuse(principal, action, dsResource(id), new DatasetInvalidTransition(id, d.state, 'retire'));
    const lineage = this.lineage(principal, action, d, 'retired');
    await this.record(principal, action, dsResource(id), { name: d.name, version: d.version, digest: d.digest, from: d.state, to: 'retired', lineageEvent: lineage.digest });
    if (!(await this.store.transition(id, d.state, 'retired', { at: this.clock.now() }))) return this.refuse(principal, action, dsResource(id), new DatasetInvalidTransition(id, (await this.get(id, principal.tenant)).state, 'retire'), { race: true });
    await this.addLineage([id], lineage.digest, lineage.event);
    return await this.get(id, principal.tenant);
  }

  /**
   * Asks the PDP whether `model` may train on the dataset (trainOn), as the Service principal `model:<name>` in
   * groups `model:<name>` and `family:<family>`, of `tenant`, on behalf of the admin asking (whose credential and
   * MFA the context carries). Only a verified dataset can be approved. The decision, either way, is a ledger entry
   * and is stored; a deny is thrown as TrainOnDenied.
   */
  async trainOn(admin: Principal, id: string, m: ModelAsked, decide: DecideTrainOn): Promise<TrainDecisionRecord> {
    const action = 'data.dataset.trainOn';
    const d = await this.get(id, admin.tenant);
    const details = { name: d.name, version: d.version, digest: d.digest, model: m.model, tenant: m.tenant, ...(m.purpose !== undefined ? { purpose: m.purpose } : {}) };
    if (d.state !== 'verified') return this.refuse(admin, action, dsResource(id), new DatasetInvalidTransition(id, d.state, 'approve training on it (only verified datasets)'), details);
    const model = modelPrincipal(admin, m);
    // The dataset's tenant goes to the PDP: dataset-tenant-isolation forbids a model of another tenant.
    const decision = decide(model, datasetResource(d), m.purpose);
    const rec: TrainDecisionRecord = { datasetId: id, model: m.model, tenant: m.tenant, allow: decision.allow, policyIds: decision.policyIds, policyVersion: decision.policyVersion, decidedBy: admin.id, at: this.clock.now(), purpose: m.purpose ?? null };
    const more = { ...details, policyIds: decision.policyIds.join(','), policyVersion: decision.policyVersion };
    if (!decision.allow) {
      const err = new TrainOnDenied(`policy does not let ${m.model} train on ${d.name}@${d.version} (${d.classification})${m.purpose !== undefined ? ` for ${m.purpose}` : ''}`);
      await this.record(admin, action, dsResource(id), more, err);
      await this.store.insertTrainDecision(rec);
      throw err;
    }
    await this.record(admin, action, dsResource(id), more);
    await this.store.insertTrainDecision(rec);
    return rec;
  }

  /**
   * Records an evaluation of `model` on the dataset (`warden model evaluate`): the PDP is asked evaluateOn with the
   * model as principal (as for trainOn, so a held-out test set can be open to evaluation and closed to training);
   * only a verified dataset can be evaluated on. Allowed, the run is an OpenLineage event of job `evaluate.<model>`
   * (inputs the model and the dataset version, the metrics in a `warden_evaluation` facet) whose digest is in the
   * `data.dataset.evaluate` ledger entry; denied, a ledger entry and EvaluateOnDenied.
   */
  async evaluate(admin: Principal, id: string, m: Omit<ModelAsked, 'purpose'>, metrics: Record<string, number>, decide: DecideTrainOn): Promise<{ dataset: DatasetRecord; model: string; metrics: Record<string, number>; policyIds: string[]; policyVersion: string; lineageEvent: string }> {
    const action = 'data.dataset.evaluate';
    const d = await this.get(id, admin.tenant);
    const details = { name: d.name, version: d.version, digest: d.digest, model: m.model, tenant: m.tenant };
    if (d.state !== 'verified') return this.refuse(admin, action, dsResource(id), new DatasetInvalidTransition(id, d.state, 'evaluate a model on it (only verified datasets)'), details);
    const decision = decide(modelPrincipal(admin, m, undefined, 'evaluateOn'), datasetResource(d));
    const more = { ...details, policyIds: decision.policyIds.join(','), policyVersion: decision.policyVersion };
    if (!decision.allow) return this.refuse(admin, action, dsResource(id), new EvaluateOnDenied(`policy does not let ${m.model} be evaluated on ${d.name}@${d.version} (${d.classification})`), more);
    const event = evaluationRunEvent({ at: this.clock.now(), principal: admin.id, model: m.model, dataset: d, metrics });
    const digest = lineageDigest(event);
    await this.record(admin, action, dsResource(id), { ...more, metrics: JSON.stringify(metrics), lineageEvent: digest });
    await this.addLineage([id], digest, event);
    return { dataset: d, model: m.model, metrics, policyIds: decision.policyIds, policyVersion: decision.policyVersion, lineageEvent: digest };
  }

  async trainDecisions(id: string, tenant: string): Promise<TrainDecisionRecord[]> {
    await this.get(id, tenant);
    return await this.store.listTrainDecisions(id);
  }

  /** The OpenLineage event of a change (FAIL when `failed` says why it was refused); its digest goes into the change's ledger entry before it is stored. */
  private lineage(principal: Principal, job: string, d: DatasetRecord, state: DatasetState, failed?: string) {
    const event = lineageEvent({ at: this.clock.now(), job, principal: principal.id, source: d.sourceId, dataset: { id: d.id, name: d.name, version: d.version, digest: d.digest, state }, ...(failed !== undefined ? { failed } : {}) });
    return { digest: lineageDigest(event), event };
  }

  /**
   * Stores a lineage event with every dataset it touches, then hands it to the OpenLineage export; its digest is
   * already in a ledger entry. The one path every lineage event takes.
   */
  async addLineage(datasetIds: readonly string[], digest: string, event: LineageEvent): Promise<void> {
    for (const id of datasetIds) await this.store.insertLineage({ datasetId: id, digest, event, at: this.clock.now() });
    await this.onLineage?.(digest, event);
  }

  /**
   * The dataset's lineage events, oldest first, and those of every dataset it was derived from (through its
   * `data.dataset.transform` runs, back to the sources); each digest is the one its ledger entry carries.
   */
  async lineageOf(id: string, tenant: string): Promise<{ digest: string; event: LineageEvent }[]> {
    await this.get(id, tenant);
    const seen = new Map<string, { digest: string; event: LineageEvent }>();
    const visited = new Set<string>();
    const queue = [id];
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (visited.has(at)) continue;
      visited.add(at);
      for (const l of await this.store.listLineage(at)) {
        const event = l.event as LineageEvent;
        seen.set(l.digest, { digest: l.digest, event });
        // Follow a transform into this dataset back to its parent (a dataset of the same tenant, checked at registration).
        if (event.job.name === 'data.dataset.transform' && event.outputs.some((o) => o.facets?.warden_dataset?.id === at)) {
          for (const i of event.inputs) if (i.facets?.warden_dataset) queue.push(i.facets.warden_dataset.id);
        }
      }
    }
    return [...seen.values()].sort((a, b) => a.event.eventTime.localeCompare(b.event.eventTime));
  }
}
