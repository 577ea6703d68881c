// `warden data source|sign|verify|register|show|list|retire|train-on|token|end-run|lineage|scan|screen|kek` (args exclude `data`).
// File verbs (sign, verify --key) work on a dataset directory or file. Registry verbs call the admin API
// (/admin/v1/datasets, /admin/v1/data-sources): each change is a PDP decision (manageDatasets) and a ledger
// entry before the CLI hears back. There is no offline path: admitting data needs the PDP and the ledger.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DatasetManifestMismatch, describeRecord } from '../data/datasets/errors.js';
import { DEFAULT_DATASET_SIGNATURE_NAME, datasetIgnorePaths, signDataset, writeDatasetSignature } from '../data/datasets/sign-dataset.js';
import { DEFAULT_RECORDS_NAME } from '../data/datasets/sidecar.js';
import { verifyDataset } from '../data/datasets/verify-dataset.js';
import type { TrainingDataStatus } from '../data/datasets/gate.js';
import { lineageGraph, lineageText, modelLineageGraph, toDot, toMermaid, type LineageEvent } from '../data/lineage/openlineage.js';
import { readScreenRecords } from '../data/screen/read.js';
import { scanClassification } from '../data/screen/classification-scan.js';
import { screenReportHtml } from '../data/screen/html-report.js';
import { datasetDigestOf, parseDatasetStatement } from '../data/datasets/manifest.js';
import { hashDataset } from '../data/datasets/hash-dataset.js';
import { formatReport, screenDataset } from '../data/screen/screen.js';
import { parseThresholds, type ScreenThresholds } from '../data/screen/thresholds.js';
import { classificationSchemeOf, loadConfig } from '../config/config.js';
import { DEFAULT_SCHEME } from '../inspect/classification.js';
import type { DataSourceRecord, DatasetRecord, TrainDecisionRecord } from '../store/datasets-store.js';
import { parseBundle } from '../workload/signing/bundle.js';
import { loadPublicKey } from '../workload/signing/keys.js';
import { terminalProgress } from '../workload/signing/progress.js';
import { UsageError, verbMain } from './verb-main.js';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';
import { loadSigner } from './model.js';
import { main as keysMain } from './data-keys.js';

const USAGE = `usage: warden data <verb> [options]

  source add ID --key PUBKEY --owner O [--description D]     register a data source (an identity with a key)
  source list | source show ID | source retire ID
  sign DIR|FILE --key KEY --name N --version V --source S --owner O --licence L --classification C
        [--categories pii,health,...] [--retention P365D|indefinite] [--output FILE] [--records FILE] [--ignore-paths a,b]
        KEY: the source's PEM private key (Ed25519 / ECDSA P-256) or a pkcs11: URI. Writes the DSSE bundle
        (default DIR/${DEFAULT_DATASET_SIGNATURE_NAME}) and the record sidecar (default DIR/${DEFAULT_RECORDS_NAME})
  verify DIR --key PUBKEY [--sig FILE] [--records FILE]      recompute every file and record; names what changed
  verify DIR --dataset ID [--records FILE]                   the gateway verifies DIR (same host, absolute path)
        under the registered source's key and records it (registered -> verified), refusals in the ledger
  register DIR [--sig FILE] [--derived-from ID [--transformation TEXT]] [--subject-field F]   admit a dataset signed by a registered
        source; --derived-from: it was made from dataset ID (of this tenant, not retired), recorded as an
        OpenLineage run of job data.dataset.transform (ID -> the new version), so its lineage reaches ID's source;
        --subject-field: the JSONL field / CSV column naming each record's data subject (a principal id), whose
        records warden erase SUBJECT then withholds from the data read API
  show ID [--json] | list [--name N] [--state S] [--json] | retire ID
  train-on ID --model M [--family F] [--tenant T] [--purpose P]  ask the PDP (trainOn) whether model M may train on
        the dataset (verified datasets only), for purpose P (Cedar context.purpose); the decision is in the ledger;
        exit 1 when denied
  token [ID...] [--slice ID:files=F,G:records=FROM-TO]... --model M [--family F] [--tenant T] [--purpose P] [--ttl SECONDS] [--json]
        a training job's token: the PDP is asked trainOn for M and each dataset (each decision in the ledger);
        the token reads only those datasets' records, GET /v1/datasets/{id}/records?file=F&offset=N&limit=M
        on the inference listener, each read authorized again and recorded; a --slice limits it to some record
        files (shards) of a dataset and/or the records FROM..TO-1 of each (files= and records= are each optional)
  end-run JTI [--fail ERROR]                                 end the training run a token started (its jti): the token
        is revoked and the run's OpenLineage COMPLETE (or, with --fail, FAIL with the error) event is in the ledger;
        a run whose token expires is ended (COMPLETE) by the gateway itself
  lineage ID|DEPLOYMENT [--format text|mermaid|dot|json|openlineage]  OpenLineage events back to the sources: of a
        dataset, or of every dataset a model deployment's provenance names (model -> datasets -> sources); text, a
        Mermaid flowchart, Graphviz DOT, the stored events with their ledger digests (json), or the RunEvents one per
        line as OpenLineage's file transport writes them (openlineage). --mermaid and --json are short for --format
  scan DIR|FILE [--sig FILE | --classification C --categories a,b] [--sample N] [--json]
        the inspection plane's detectors over the records versus the declared classification and categories
        (from the dataset's signed statement, or the flags); exit 1 when the data is more sensitive than declared
  (sign and scan take --config warden.yaml: its classification levels are the ones a dataset may declare)
  screen DIR|FILE [--dataset ID] [--baseline DIR|FILE] [--text-field F] [--label-field F] [--config warden.yaml] [--thresholds FILE.json] [--json] [--html FILE]
        the poisoning screen over JSONL/CSV records: duplicates (exact, MinHash), label changes and
        distribution vs the baseline, robust outliers, backdoor-trigger tokens, injected instructions, drift
        (PSI, KS). Exit 1 when a check is over its threshold (the defaults, then --config's data.screen.thresholds,
        then --thresholds: a JSON object of the same keys);
        --html FILE also writes the report as one self-contained page with plots. With --dataset ID the
        files screened must be that registered dataset's (same digest): the gateway records the run as an
        OpenLineage event of job data.dataset.screen, chained into the ledger (data.dataset.screen)
  migrate [--config F] [--data-dir D] [--remove-legacy-keys]   rewrap records sealed in the pre-envelope formats
  rewrap [--config F] [--data-dir D]                         move data keys to each tenant's current KEK
  kek list [--json]                                          tenants with their own KEK: the recorded key id, withdrawn?
  kek withdraw TENANT [--reason R] | kek restore TENANT      make a tenant's data unreadable (and nothing new of it
        sealed) on every replica within a second, or reinstate it; a PDP decision and a ledger entry each
  kek forget TENANT [--reason R]                              delete a withdrawn tenant's KEK record once none of its
        data is wrapped under it and no replica is configured with it (refused otherwise); PDP decision + ledger entry
  new-key FILE                                               a new 32-byte key file, mode 0600 (never overwrites)
        (content encryption at rest, docs/data-encryption.md; migrate and rewrap run with Warden stopped)

Registry verbs call the admin API: --admin-url URL (or WARDEN_ADMIN_URL), --data-dir DIR (for ca.pem, or
WARDEN_CA); credential WARDEN_ADMIN_KEY; MFA step-up proof WARDEN_MFA_TOKEN or --mfa-token-file FILE.`;

/** `--slice ID:files=a.jsonl,b.jsonl:records=0-100` as the admin API's slice object. */
function parseSliceArg(arg: string): Record<string, unknown> {
  const [dataset, ...parts] = arg.split(':');
  const slice: Record<string, unknown> = { dataset };
  for (const p of parts) {
    const r = /^records=(\d+)-(\d+)$/.exec(p);
    if (p.startsWith('files=')) slice.files = p.slice('files='.length).split(',').filter(Boolean);
    else if (r) slice.records = { from: Number(r[1]), to: Number(r[2]) };
    else throw new UsageError(`--slice ${arg}: expected ID[:files=F,G][:records=FROM-TO]`);
  }
  return slice;
}

const LINEAGE_FORMATS = ['text', 'mermaid', 'dot', 'json', 'openlineage'];

const ADMIN_OPTIONS = { 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' } } as const;


const csv = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function readJson(f: string): unknown {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as unknown;
  } catch (e) {
    throw new CliError(`cannot read ${f} as JSON: ${(e as Error).message}`, 2);
  }
}

function datasetLine(d: DatasetRecord): string {
  return `${d.id}  ${d.name}@${d.version}  ${d.state.padEnd(10)}  ${d.classification.padEnd(12)}  source ${d.sourceId}  ${d.digest.slice(0, 19)}…`;
}

function sourceLine(s: DataSourceRecord): string {
  return `${s.id}  ${s.retiredAt === null ? 'active ' : 'retired'}  ${s.algorithm}  ${s.keyId}  owner ${s.owner}`;
}

function describe(o: object): string {
  return Object.entries(o).map(([k, v]) => `${k.padEnd(15)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join('\n');
}

const trainDecisionLine = (t: TrainDecisionRecord) =>
  `${'trainOn'.padEnd(15)} ${t.allow ? 'allow' : 'deny'} ${t.model} (tenant ${t.tenant})${t.purpose !== null ? ` for ${t.purpose}` : ''} by ${t.decidedBy} at ${new Date(t.at).toISOString()}, policy set ${t.policyVersion}`;

/** The classification levels of a warden.yaml (`classification`), as the gateway reading it would build them. */
const configuredLevels = (file: string) => classificationSchemeOf(loadConfig(file), file);

const dsPath = (id: string, verb?: string) => `/admin/v1/datasets/${encodeURIComponent(id)}${verb ? `/${verb}` : ''}`;

async function sourceVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, key: { type: 'string' }, owner: { type: 'string' }, description: { type: 'string' }, json: { type: 'boolean' } } });
  const [verb, id] = positionals;
  const o = adminClientOptions(values);
  const path = (x: string, v?: string) => `/admin/v1/data-sources/${encodeURIComponent(x)}${v ? `/${v}` : ''}`;
  switch (verb) {
    case 'add': {
      if (!id || !values.key || !values.owner) throw new UsageError('source add needs ID, --key PUBKEY and --owner');
      const s = (await adminCall(o, 'POST', '/admin/v1/data-sources', { id, publicKey: readFileSync(values.key, 'utf8'), owner: values.owner, ...(values.description ? { description: values.description } : {}) })) as DataSourceRecord;
      out(sourceLine(s));
      return 0;
    }
    case 'list': {
      const rows = ((await adminCall(o, 'GET', '/admin/v1/data-sources')) as { data: DataSourceRecord[] }).data;
      out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(sourceLine).join('\n') : '(no data sources)');
      return 0;
    }
    case 'show':
    case 'retire': {
      if (!id) throw new UsageError(`source ${verb} needs ID`);
      const s = (await adminCall(o, verb === 'show' ? 'GET' : 'POST', path(id, verb === 'retire' ? 'retire' : undefined), verb === 'retire' ? {} : undefined)) as DataSourceRecord;
      out(values.json ? JSON.stringify(s, null, 2) : verb === 'show' ? describe(s) : sourceLine(s));
      return 0;
    }
    default:
      throw new UsageError(`source needs add, list, show or retire`);
  }
}

function printMismatch(e: DatasetManifestMismatch): void {
  for (const f of e.changed) err(`changed: ${f}`);
  for (const r of e.renamed) err(`renamed: ${r.from} -> ${r.to}`);
  for (const f of e.added) err(`added (not signed): ${f}`);
  for (const f of e.removed) err(`missing: ${f}`);
  for (const r of e.records) err(`record: ${describeRecord(r)}`);
}

interface TenantKekView { tenant: string; kek_id: string; recorded_at: string; withdrawn: { at: string; by: string; reason: string | null } | null }
const kekLine = (k: TenantKekView) => `${k.tenant}\t${k.kek_id}\t${k.withdrawn ? `withdrawn ${k.withdrawn.at} by ${k.withdrawn.by}${k.withdrawn.reason ? ` (${k.withdrawn.reason})` : ''}` : 'in use'}`;

async function kekVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, reason: { type: 'string' }, json: { type: 'boolean' } } });
  const [verb, tenant] = positionals;
  const o = adminClientOptions(values);
  if (verb === 'list') {
    const rows = ((await adminCall(o, 'GET', '/admin/v1/tenant-keks')) as { data: TenantKekView[] }).data;
    out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(kekLine).join('\n') : '(no tenant brings its own KEK)');
    return 0;
  }
  if (verb !== 'withdraw' && verb !== 'restore' && verb !== 'forget') throw new UsageError('kek needs list, withdraw TENANT, restore TENANT or forget TENANT');
  if (!tenant) throw new UsageError(`kek ${verb} needs TENANT`);
  const k = (await adminCall(o, 'POST', `/admin/v1/tenant-keks/${encodeURIComponent(tenant)}/${verb}`, values.reason ? { reason: values.reason } : {})) as TenantKekView;
  out(values.json ? JSON.stringify(k, null, 2) : verb === 'forget' ? `forgot ${k.tenant}'s KEK record (${k.kek_id}); it was ${kekLine(k).split('\t')[2]}` : kekLine(k));
  return 0;
}

async function run(verb: string | undefined, args: string[]): Promise<number> {
  switch (verb) {
    case 'source':
      return sourceVerb(args);
    case 'kek':
      return kekVerb(args);
    case 'migrate':
    case 'rewrap':
    case 'new-key':
      return keysMain([verb, ...args]);
    case 'sign': {
      const { values, positionals } = parseArgs({
        args, allowPositionals: true,
        options: {
          key: { type: 'string' }, output: { type: 'string' }, records: { type: 'string' }, 'ignore-paths': { type: 'string' },
          name: { type: 'string' }, version: { type: 'string' }, source: { type: 'string' }, owner: { type: 'string' }, licence: { type: 'string' },
          classification: { type: 'string' }, categories: { type: 'string' }, retention: { type: 'string' }, config: { type: 'string' },
        },
      });
      const dir = positionals[0];
      if (!dir || !values.key) throw new UsageError('sign needs DIR and --key');
      for (const k of ['name', 'version', 'source', 'owner', 'licence', 'classification'] as const) if (!values[k]) throw new UsageError(`sign needs --${k}`);
      const paths = { ...(values.output ? { signaturePath: values.output } : {}), ...(values.records ? { recordsPath: values.records } : {}), ignorePaths: csv(values['ignore-paths']) };
      const { signaturePath, recordsPath } = datasetIgnorePaths(dir, paths);
      const signer = await loadSigner(values.key);
      try {
        const progress = terminalProgress('hashing');
        const meta = { name: values.name, version: values.version, source: values.source, owner: values.owner, licence: values.licence, classification: values.classification, categories: csv(values.categories), retention: values.retention ?? 'indefinite' };
        // --config: the gateway's classification levels (the manifest must name one of them; default the built-in four).
        const levels = values.config ? { classifications: configuredLevels(values.config).levels } : {};
        const signed = await signDataset(dir, meta, signer, { ...paths, ...levels, hash: progress ? { onProgress: progress } : {} });
        await writeDatasetSignature(signed, signaturePath, recordsPath);
        out(`signed ${signed.files.length} file(s), ${signed.records} record(s), ${signed.bytes} bytes with ${signer.description}\ndataset digest ${signed.digest}\nsignature      ${signaturePath}\nrecords        ${recordsPath}`);
      } finally {
        signer.close?.();
      }
      return 0;
    }
    case 'verify': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, key: { type: 'string' }, sig: { type: 'string' }, records: { type: 'string' }, dataset: { type: 'string' }, 'ignore-paths': { type: 'string' } } });
      const dir = positionals[0];
      if (!dir || (!values.key && !values.dataset)) throw new UsageError('verify needs DIR and --key (or --dataset, to have the gateway verify it)');
      const { signaturePath, recordsPath } = datasetIgnorePaths(dir, { ...(values.sig ? { signaturePath: values.sig } : {}), ...(values.records ? { recordsPath: values.records } : {}) });
      if (values.key) {
        let sidecar: unknown;
        try {
          sidecar = JSON.parse(readFileSync(recordsPath, 'utf8')) as unknown;
        } catch (e) {
          if (values.records || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read the record sidecar ${recordsPath}: ${(e as Error).message}`, 2);
        }
        const progress = terminalProgress('verifying');
        const r = await verifyDataset(dir, parseBundle(readFileSync(signaturePath)), loadPublicKey(readFileSync(values.key)), {
          ignorePaths: csv(values['ignore-paths']), ...(sidecar !== undefined ? { sidecar } : {}), hash: progress ? { onProgress: progress } : {},
        });
        out(`verified ${r.files} file(s), ${r.records} record(s), ${r.bytes} bytes, signer ${r.signerIdentity}\ndataset ${r.manifest.metadata.name}@${r.manifest.metadata.version} source ${r.manifest.metadata.source} classification ${r.manifest.metadata.classification}\ndataset digest ${r.digest}`);
      }
      if (values.dataset) {
        const d = (await adminCall(adminClientOptions(values), 'POST', dsPath(values.dataset, 'verify'), { path: resolve(dir), ...(values.records ? { recordsPath: resolve(values.records) } : {}), ignorePaths: csv(values['ignore-paths']) })) as DatasetRecord;
        out(datasetLine(d));
      }
      return 0;
    }
    case 'register': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, sig: { type: 'string' }, json: { type: 'boolean' }, 'derived-from': { type: 'string' }, transformation: { type: 'string' }, 'subject-field': { type: 'string' } } });
      const dir = positionals[0];
      if (!dir && !values.sig) throw new UsageError('register needs DIR (or --sig FILE)');
      if (values.transformation && !values['derived-from']) throw new UsageError('--transformation describes a derived dataset: give --derived-from ID too');
      const derived = values['derived-from'] ? { derivedFrom: values['derived-from'], ...(values.transformation ? { transformation: values.transformation } : {}) } : {};
      const d = (await adminCall(adminClientOptions(values), 'POST', '/admin/v1/datasets', { signatureBundle: readJson(values.sig ?? join(dir!, DEFAULT_DATASET_SIGNATURE_NAME)), ...derived, ...(values['subject-field'] !== undefined ? { subjectField: values['subject-field'] } : {}) })) as DatasetRecord;
      out(values.json ? JSON.stringify(d, null, 2) : datasetLine(d));
      return 0;
    }
    case 'show':
    case 'retire': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, json: { type: 'boolean' } } });
      const id = positionals[0];
      if (!id) throw new UsageError(`${verb} needs a dataset ID`);
      const o = adminClientOptions(values);
      const d = (await adminCall(o, verb === 'show' ? 'GET' : 'POST', dsPath(id, verb === 'retire' ? 'retire' : undefined), verb === 'retire' ? {} : undefined)) as DatasetRecord;
      if (verb === 'retire') {
        out(values.json ? JSON.stringify(d, null, 2) : datasetLine(d));
        return 0;
      }
      // The trainOn decisions recorded for it (each with the purpose it was asked for), oldest first.
      const decisions = ((await adminCall(o, 'GET', dsPath(id, 'train-on'))) as { data: TrainDecisionRecord[] }).data;
      out(values.json ? JSON.stringify({ ...d, trainOn: decisions }, null, 2) : [describe(d), ...decisions.map(trainDecisionLine)].join('\n'));
      return 0;
    }
    case 'train-on': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, model: { type: 'string' }, family: { type: 'string' }, tenant: { type: 'string' }, purpose: { type: 'string' } } });
      if (!positionals[0] || !values.model) throw new UsageError('train-on needs a dataset ID and --model');
      const body = { model: values.model, ...(values.family ? { family: values.family } : {}), ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.purpose !== undefined ? { purpose: values.purpose } : {}) };
      const r = (await adminCall(adminClientOptions(values), 'POST', dsPath(positionals[0], 'train-on'), body)) as { model: string; policyIds: string[]; policyVersion: string };
      out(`allowed: ${r.model} may train on ${positionals[0]} (policies ${r.policyIds.join(', ')}; policy set ${r.policyVersion})`);
      return 0;
    }
    case 'token': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, model: { type: 'string' }, family: { type: 'string' }, tenant: { type: 'string' }, purpose: { type: 'string' }, ttl: { type: 'string' }, json: { type: 'boolean' }, slice: { type: 'string', multiple: true } } });
      const slices = (values.slice ?? []).map(parseSliceArg);
      if ((positionals.length === 0 && slices.length === 0) || !values.model) throw new UsageError('token needs one or more dataset IDs (or --slice) and --model');
      const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
      if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new UsageError('--ttl must be a number of seconds');
      const body = { model: values.model, datasets: positionals, ...(slices.length ? { slices } : {}), ...(values.family ? { family: values.family } : {}), ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.purpose !== undefined ? { purpose: values.purpose } : {}), ...(ttl !== undefined ? { ttlSec: ttl } : {}) };
      const r = (await adminCall(adminClientOptions(values), 'POST', '/admin/v1/training-tokens', body)) as { access_token: string; expires_in: number; principal: string; datasets: string[] };
      // The token alone on stdout, so a pipeline can capture it; what it allows on stderr.
      out(values.json ? JSON.stringify(r, null, 2) : r.access_token);
      if (!values.json) err(`training token for ${r.principal}: reads ${r.datasets.join(', ')} for ${r.expires_in} s (GET /v1/datasets/{id}/records on the inference listener)`);
      return 0;
    }
    case 'end-run': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, fail: { type: 'string' } } });
      const jti = positionals[0];
      if (!jti) throw new UsageError('end-run needs the run id (the training token\'s jti)');
      const body = values.fail !== undefined ? { outcome: 'fail', error: values.fail } : { outcome: 'complete' };
      const r = (await adminCall(adminClientOptions(values), 'POST', `/admin/v1/training-tokens/${encodeURIComponent(jti)}/end`, body)) as { outcome: string; model: string; datasets: string[]; lineageEvent: string };
      out(`run ${jti} of ${r.model} ended: ${r.outcome} (datasets ${r.datasets.join(', ')}; lineage event ${r.lineageEvent})`);
      return 0;
    }
    case 'lineage': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, json: { type: 'boolean' }, mermaid: { type: 'boolean' }, format: { type: 'string' } } });
      const id = positionals[0];
      if (!id) throw new UsageError('lineage needs a dataset ID (ds_...) or a model deployment ID (dep_...)');
      const format = values.format ?? (values.json ? 'json' : values.mermaid ? 'mermaid' : 'text');
      if (!LINEAGE_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${LINEAGE_FORMATS.join(', ')}`);
      const o = adminClientOptions(values);
      type Lineage = { events: { digest: string; event: LineageEvent }[]; mermaid: string; text: string };
      // OpenLineage's file transport: one RunEvent per line, as an OpenLineage consumer (e.g. Marquez) takes them.
      const openlineage = (events: readonly LineageEvent[]): string => events.map((e) => JSON.stringify(e)).join('\n');
      if (!id.startsWith('dep_')) {
        const r = (await adminCall(o, 'GET', dsPath(id, 'lineage'))) as Lineage;
        const events = r.events.map((e) => e.event);
        if (format === 'json') out(JSON.stringify(r.events, null, 2));
        else if (format === 'mermaid') out(toMermaid(lineageGraph(events)));
        else if (format === 'dot') out(toDot(lineageGraph(events)));
        else if (format === 'openlineage') out(openlineage(events));
        else out(r.text);
        return 0;
      }
      // A model: the datasets its provenance names (as `model show` explains them), each with its own lineage.
      const dep = (await adminCall(o, 'GET', `/admin/v1/models/${encodeURIComponent(id)}`)) as { id: string; model: string; version: string; trainingData?: TrainingDataStatus[] };
      const datasets = await Promise.all((dep.trainingData ?? []).map(async (s) => {
        const l = s.dataset ? ((await adminCall(o, 'GET', dsPath(s.dataset, 'lineage'))) as Lineage) : null;
        const events: LineageEvent[] = l?.events.map((e) => e.event) ?? [];
        const version = events.flatMap((e) => e.outputs).find((x) => x.facets?.warden_dataset?.id === s.dataset);
        return { status: s, name: version?.name ?? null, uri: s.uri, ok: s.ok, events };
      }));
      const graph = () => modelLineageGraph({ id: dep.id, name: `${dep.model}@${dep.version}` }, datasets);
      if (format === 'json') out(JSON.stringify({ deployment: dep.id, model: dep.model, datasets: datasets.map((d) => ({ ...d.status, lineage: d.events })) }, null, 2));
      else if (format === 'mermaid') out(toMermaid(graph()));
      else if (format === 'dot') out(toDot(graph()));
      else if (format === 'openlineage') {
        // A training run's event is stored with every dataset it read: print each event once.
        const seen = new Set<string>();
        const unique: LineageEvent[] = [];
        for (const e of datasets.flatMap((d) => d.events)) {
          const key = `${e.run.runId} ${e.eventType}`;
          if (seen.has(key)) continue;
          seen.add(key);
          unique.push(e);
        }
        out(openlineage(unique));
      } else {
        out(`model ${dep.model}@${dep.version} (${dep.id})${datasets.length ? '' : ': its provenance names no training dataset'}`);
        for (const d of datasets) {
          out(`  trained on ${d.uri} ${d.status.digest.slice(0, 19)}…  ${d.ok ? 'approved' : `NOT approved: ${d.status.reason}`}`);
          for (const line of lineageText(d.events).split('\n').filter(Boolean)) out(`    ${line}`);
        }
      }
      return 0;
    }
    case 'list': {
      const { values } = parseArgs({ args, options: { ...ADMIN_OPTIONS, json: { type: 'boolean' }, name: { type: 'string' }, state: { type: 'string' } } });
      const q = new URLSearchParams({ ...(values.name ? { name: values.name } : {}), ...(values.state ? { state: values.state } : {}) }).toString();
      const rows = ((await adminCall(adminClientOptions(values), 'GET', `/admin/v1/datasets${q ? `?${q}` : ''}`)) as { data: DatasetRecord[] }).data;
      out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(datasetLine).join('\n') : '(no datasets)');
      return 0;
    }
    case 'scan': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { sig: { type: 'string' }, classification: { type: 'string' }, categories: { type: 'string' }, sample: { type: 'string' }, 'text-field': { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' } } });
      const path = positionals[0];
      if (!path) throw new UsageError('scan needs DIR or FILE');
      let declared: { classification: string; categories: string[] };
      if (values.classification) declared = { classification: values.classification, categories: csv(values.categories) };
      else {
        // The declaration is read from the statement; `verify` is what authenticates it.
        const bundle = parseBundle(readFileSync(datasetIgnorePaths(path, values.sig ? { signaturePath: values.sig } : {}).signaturePath));
        const m = parseDatasetStatement(Buffer.from(bundle.dsseEnvelope.payload, 'base64')).metadata;
        declared = { classification: m.classification, categories: m.categories };
      }
      const sample = values.sample ? Number(values.sample) : undefined;
      if (sample !== undefined && !(Number.isSafeInteger(sample) && sample > 0)) throw new UsageError('--sample must be a positive integer');
      const scheme = values.config ? configuredLevels(values.config) : DEFAULT_SCHEME;
      const r = scanClassification(await readScreenRecords(path, values['text-field'] ? { textField: values['text-field'] } : {}), declared, { scheme, ...(sample ? { sample } : {}) });
      if (values.json) out(JSON.stringify(r, null, 2));
      else {
        out(`scanned ${r.scanned} record(s): found ${JSON.stringify(r.found)}, implies ${r.implied}; declared ${declared.classification} [${declared.categories.join(', ')}]`);
        for (const reason of r.reasons) out(`FLAGGED ${reason}`);
        for (const e of r.flagged ? r.examples : []) out(`        ${e.file} record ${e.index}: ${e.note}`);
        if (!r.flagged) out('consistent with the declaration');
      }
      return r.flagged ? 1 : 0;
    }
    case 'screen': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, config: { type: 'string' }, dataset: { type: 'string' }, baseline: { type: 'string' }, 'text-field': { type: 'string' }, 'label-field': { type: 'string' }, thresholds: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' } } });
      if (!positionals[0]) throw new UsageError('screen needs DIR or FILE');
      const read = { ...(values['text-field'] ? { textField: values['text-field'] } : {}), ...(values['label-field'] ? { labelField: values['label-field'] } : {}) };
      // The defaults, then warden.yaml's data.screen.thresholds (checked at load), then --thresholds FILE on top.
      const configured = values.config ? loadConfig(values.config).data.screen.thresholds : {};
      let flagged: Partial<ScreenThresholds> = {};
      try {
        if (values.thresholds) flagged = parseThresholds(readJson(values.thresholds), '--thresholds');
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
      const report = screenDataset(await readScreenRecords(positionals[0], read), values.baseline ? await readScreenRecords(values.baseline, read) : null, { ...configured, ...flagged });
      out(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
      if (values.html) writeFileSync(values.html, screenReportHtml(report, `Poisoning screen: ${positionals[0]}`), { mode: 0o644 });
      if (values.dataset) {
        // The gateway checks the screened files are the dataset's (digest) and records the run in its lineage and the ledger.
        const body = { digest: await screenedDigest(positionals[0]), ...(values.baseline ? { baselineDigest: await screenedDigest(values.baseline) } : {}), report: { records: report.records, baselineRecords: report.baselineRecords, checks: report.checks.map(({ name, value, threshold, alarm }) => ({ name, value, threshold, alarm })) } };
        const r = (await adminCall(adminClientOptions(values), 'POST', dsPath(values.dataset, 'screen'), body)) as { lineageEvent: string };
        const recorded = `screen recorded for ${values.dataset}: lineage event ${r.lineageEvent}`;
        if (values.json) process.stderr.write(`${recorded}\n`); // stdout stays the JSON report
        else out(recorded);
      }
      return report.alarms.length ? 1 : 0;
    }
    default:
      throw new UsageError(verb ? `unknown verb ${JSON.stringify(verb)}` : 'missing verb');
  }
}

/** The dataset digest of the files a screen read (as `data sign` computes it, signature and sidecar left out). */
async function screenedDigest(path: string): Promise<string> {
  return datasetDigestOf((await hashDataset(path, datasetIgnorePaths(path, {}).ignorePaths)).files);
}

export function main(args: string[]): Promise<number> {
  return verbMain('data', USAGE, args, run, (e) => {
    if (e instanceof DatasetManifestMismatch) printMismatch(e);
  });
}
