// `warden model sign|verify|scan|register|promote|quarantine|attest|rollback|list|show|evaluate` (args exclude `model`).
// File verbs work on a model directory. Registry verbs call the admin API (/admin/v1/models): each change is
// decided by the PDP (manageModels, promoteModel; the starter set wants an MFA step-up, WARDEN_MFA_TOKEN)
// and is a ledger entry before the CLI hears back. `--offline --data-dir D` is the break-glass path when
// the gateway is down: it can only take a deployment OUT of service (quarantine, retire) or read; the change
// is spooled to <data-dir>/registry-audit.jsonl and the gateway moves it into the ledger on its next
// registry refresh (src/app/registry-spool.ts). Owning the data dir is the authorization there.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { Principal } from '../core/types.js';
import { SqliteRegistryStore } from '../store/registry-sqlite.js';
import type { DeploymentRecord } from '../store/registry-store.js';
import { openSqlite } from '../store/sqlite.js';
import { ModelRegistry } from '../workload/registry/registry.js';
import { scanModel } from '../workload/scan/scan-model.js';
import type { ScanReport } from '../workload/scan/types.js';
import { parseBundle } from '../workload/signing/bundle.js';
import { ModelManifestMismatch } from '../workload/signing/errors.js';
import { loadPublicKey, pemSigner, type Signer } from '../workload/signing/keys.js';
import { terminalProgress } from '../workload/signing/progress.js';
import { DEFAULT_SIGNATURE_NAME, signModel, writeSignature } from '../workload/signing/sign-model.js';
import { verifyModel } from '../workload/signing/verify-model.js';
import { UsageError, verbMain } from './verb-main.js';
import { adminCall, adminClientOptions, CliError, type AdminClientOptions } from './admin-client.js';

const USAGE = `usage: warden model <verb> [options]

  sign DIR --key KEY [--output FILE] [--ignore-paths a,b]
        KEY is a PEM private key (Ed25519 / ECDSA P-256) or a pkcs11: URI (RFC 7512)
  verify DIR [--sig FILE] --key PUBKEY [--ignore-paths a,b] [--deployment ID]
        recompute every digest and check the signature; with --deployment (--key then optional),
        the gateway verifies DIR (same host, absolute path) against the registered bundle under its
        trusted signers, scans it and records it (registered -> verified), refusals in the ledger
  scan DIR|FILE [--json] [--ignore-paths a,b] [--allow-global module.name,...] [--config warden.yaml (its workload.scan limits)]
  register DIR --model M --version V --upstream URL --tier T --region R --tenant X
        [--sig FILE] [--provenance FILE] [--sbom FILE] [--attestation-type T --reference k=v,...]
  promote ID | quarantine ID --reason TEXT | retire ID | rollback MODEL [--tenant --region --tier]
  attest ID   challenge a promoted confidential deployment's runtime now (fresh evidence, checked and recorded)
  list [--model M] [--state S] [--json] | show ID [--json]
  evaluate MODEL --dataset ID --metrics FILE.json [--family F] [--tenant T] [--json]
        record an evaluation of model MODEL on a verified dataset: the PDP is asked evaluateOn (the model as
        principal, like data train-on); the metrics ({name: number}) go into an OpenLineage run of job
        evaluate.MODEL (inputs the model and the dataset), chained into the ledger (data.dataset.evaluate)

Registry verbs call the admin API: --admin-url URL (or WARDEN_ADMIN_URL), --data-dir DIR (for ca.pem, or
WARDEN_CA); credential WARDEN_ADMIN_KEY; MFA step-up proof WARDEN_MFA_TOKEN or --mfa-token-file FILE.
Break-glass without the gateway: quarantine|retire|list|show --offline --data-dir DIR (spooled to the
ledger when the gateway next runs); registering, verifying, promoting and rolling back need the PDP.`;

const ADMIN_OPTIONS = { 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, 'mfa-token-file': { type: 'string' }, offline: { type: 'boolean' } } as const;
const OFFLINE_VERBS = new Set(['quarantine', 'retire', 'list', 'show']);


const csv = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

export async function loadSigner(key: string): Promise<Signer & { close?: () => void }> {
  if (key.startsWith('pkcs11:')) {
    // Loaded lazily: the native binding is only needed when a token is used.
    const { openPkcs11Signer } = await import('../workload/signing/pkcs11.js');
    return openPkcs11Signer(key);
  }
  return pemSigner(readFileSync(key), process.env.WARDEN_KEY_PASSPHRASE);
}

function localPrincipal(): Principal {
  const user = userInfo().username;
  return { kind: 'user', id: `local:${user}`, tenant: 'local', groups: ['local-operators'], authn: { method: 'bootstrap', credentialId: `uid:${userInfo().uid}` }, scope: { models: ['*'], actions: ['*'] }, admin: true };
}

/** The offline break-glass registry: the data dir's store, transitions spooled for the ledger. */
function openOfflineRegistry(dataDir: string | undefined): ModelRegistry {
  if (!dataDir) throw new UsageError('--offline needs --data-dir (the gateway data dir holding warden.db)');
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const auditFile = join(dir, 'registry-audit.jsonl');
  return new ModelRegistry({
    store: new SqliteRegistryStore(openSqlite(join(dir, 'warden.db'))),
    audit: (e) => appendFileSync(auditFile, canonicalJson(e) + '\n', { mode: 0o600 }),
    // Never reached: promotion is refused offline before the registry is opened (OFFLINE_VERBS).
    authorize: () => false,
    policy: { trustedSigners: [] },
  });
}

const depPath = (id: string, verb?: string) => `/admin/v1/models/${encodeURIComponent(id)}${verb ? `/${verb}` : ''}`;

function readJsonFile(f: string | undefined): unknown {
  if (!f) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as unknown;
  } catch (e) {
    throw new CliError(`cannot read ${f} as JSON: ${(e as Error).message}`, 2);
  }
}

/** The registry verbs over the admin API; every change is a PDP decision and a ledger entry before the answer. */
async function registryVerb(verb: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...ADMIN_OPTIONS,
      reason: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' }, state: { type: 'string' },
      version: { type: 'string' }, upstream: { type: 'string' }, tier: { type: 'string' }, region: { type: 'string' }, tenant: { type: 'string' },
      sig: { type: 'string' }, provenance: { type: 'string' }, sbom: { type: 'string' }, 'attestation-type': { type: 'string' }, reference: { type: 'string' },
    },
  });
  const id = positionals[0];
  if (['promote', 'quarantine', 'retire', 'show', 'attest'].includes(verb) && !id) throw new UsageError(`${verb} needs a deployment ID`);
  if (verb === 'quarantine' && !values.reason) throw new UsageError('quarantine needs --reason');
  if (values.offline) {
    if (!OFFLINE_VERBS.has(verb)) throw new UsageError(`${verb} needs the PDP and the ledger: run it against the admin API (without --offline); offline only quarantine, retire, list and show`);
    return offlineVerb(verb, id, values);
  }
  const o: AdminClientOptions = adminClientOptions(values);
  const show = (d: DeploymentRecord) => out(values.json ? JSON.stringify(d, null, 2) : deploymentLine(d));
  switch (verb) {
    case 'register': {
      const dir = positionals[0];
      if (!dir) throw new UsageError('register needs DIR');
      for (const k of ['model', 'version', 'upstream', 'tier', 'region', 'tenant'] as const) if (!values[k]) throw new UsageError(`register needs --${k}`);
      const reference = Object.fromEntries(csv(values.reference).map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new UsageError(`--reference expects k=v, got ${kv}`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }));
      const body = {
        model: values.model, version: values.version, upstream: values.upstream, tier: values.tier, region: values.region, tenant: values.tenant,
        signatureBundle: readJsonFile(values.sig ?? join(dir, DEFAULT_SIGNATURE_NAME)),
        ...(values.provenance ? { provenance: readJsonFile(values.provenance) } : {}),
        ...(values.sbom ? { sbom: readJsonFile(values.sbom) } : {}),
        ...(values['attestation-type'] ? { attestation: { type: values['attestation-type'], referenceValues: reference } } : {}),
      };
      show((await adminCall(o, 'POST', '/admin/v1/models', body)) as DeploymentRecord);
      return 0;
    }
    case 'promote': {
      const r = (await adminCall(o, 'POST', depPath(id!, 'promote'), {})) as DeploymentRecord & { pendingApproval?: boolean };
      show(r);
      if (r.pendingApproval) out('(approval recorded; a second approver must promote)');
      return 0;
    }
    case 'quarantine':
      show((await adminCall(o, 'POST', depPath(id!, 'quarantine'), { reason: values.reason })) as DeploymentRecord);
      return 0;
    case 'retire':
      show((await adminCall(o, 'POST', depPath(id!, 'retire'), {})) as DeploymentRecord);
      return 0;
    case 'attest':
      out(JSON.stringify(await adminCall(o, 'POST', depPath(id!, 'attest'), {}), null, 2));
      return 0;
    case 'rollback': {
      if (!positionals[0]) throw new UsageError('rollback needs MODEL');
      const slot = { ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.region ? { region: values.region } : {}), ...(values.tier ? { tier: values.tier } : {}) };
      show((await adminCall(o, 'POST', '/admin/v1/models/rollback', { model: positionals[0], ...slot })) as DeploymentRecord);
      return 0;
    }
    case 'show': {
      const d = (await adminCall(o, 'GET', depPath(id!))) as DeploymentRecord;
      out(values.json ? JSON.stringify(d, null, 2) : describe(d));
      return 0;
    }
    default: {
      const q = new URLSearchParams({ ...(values.model ? { model: values.model } : {}), ...(values.state ? { state: values.state } : {}) }).toString();
      const rows = ((await adminCall(o, 'GET', `/admin/v1/models${q ? `?${q}` : ''}`)) as { data: DeploymentRecord[] }).data;
      out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(deploymentLine).join('\n') : '(no deployments)');
      return 0;
    }
  }
}

async function offlineVerb(verb: string, id: string | undefined, values: { 'data-dir'?: string | undefined; reason?: string | undefined; json?: boolean | undefined; model?: string | undefined; state?: string | undefined }): Promise<number> {
  const reg = openOfflineRegistry(values['data-dir']);
  const p = localPrincipal();
  const spooled = () => err(`offline: recorded in ${join(resolve(values['data-dir']!), 'registry-audit.jsonl')}; the gateway moves it into the ledger on its next registry refresh`);
  switch (verb) {
    case 'quarantine':
      out(deploymentLine(await reg.quarantine(p, id!, values.reason!)));
      spooled();
      return 0;
    case 'retire':
      out(deploymentLine(await reg.retire(p, id!)));
      spooled();
      return 0;
    case 'show': {
      const d = await reg.get(id!);
      out(values.json ? JSON.stringify(d, null, 2) : describe(d));
      return 0;
    }
    default: {
      const rows = await reg.list({ ...(values.model ? { model: values.model } : {}), ...(values.state ? { state: values.state as DeploymentRecord['state'] } : {}) });
      out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(deploymentLine).join('\n') : '(no deployments)');
      return 0;
    }
  }
}

function describe(d: DeploymentRecord): string {
  return Object.entries(d).map(([k, v]) => `${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n');
}

function deploymentLine(d: DeploymentRecord): string {
  return `${d.id}  ${d.model}@${d.version}  ${d.state.padEnd(11)}  ${d.tenant}/${d.region}/${d.tier}  ${d.upstream}  ${d.artifactDigest.slice(0, 19)}…`;
}

function printScan(r: ScanReport, json: boolean): void {
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  for (const i of r.issues) err(`${i.file}: [${i.severity}] ${i.rule}: ${i.reason}`);
  out(r.ok ? `scan ok: ${r.files.length} file(s), no issues` : `scan FAILED: ${r.issues.length} issue(s) in ${new Set(r.issues.map((i) => i.file)).size} file(s)`);
}

async function run(verb: string | undefined, args: string[]): Promise<number> {
  switch (verb) {
    case 'sign': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { key: { type: 'string' }, output: { type: 'string' }, 'ignore-paths': { type: 'string' } } });
      const dir = positionals[0];
      if (!dir || !values.key) throw new UsageError('sign needs DIR and --key');
      const output = values.output ?? join(dir, DEFAULT_SIGNATURE_NAME);
      const signer = await loadSigner(values.key);
      try {
        const progress = terminalProgress('hashing');
        const signed = await signModel(dir, signer, { signaturePath: output, ignorePaths: csv(values['ignore-paths']), hash: progress ? { onProgress: progress } : {} });
        await writeSignature(output, signed.bundle);
        out(`signed ${signed.entries.length} file(s) with ${signer.description}\nmodel digest ${signed.modelDigest}\nsignature    ${output}`);
      } finally {
        signer.close?.();
      }
      return 0;
    }
    case 'verify': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { sig: { type: 'string' }, key: { type: 'string' }, 'ignore-paths': { type: 'string' }, deployment: { type: 'string' }, ...ADMIN_OPTIONS } });
      const dir = positionals[0];
      if (!dir || (!values.key && !values.deployment)) throw new UsageError('verify needs DIR and --key (or --deployment, to have the gateway verify it)');
      if (values.deployment && values.offline) throw new UsageError('verify --deployment needs the PDP and the ledger: run it against the admin API (without --offline)');
      const sig = values.sig ?? join(dir, DEFAULT_SIGNATURE_NAME);
      const ignorePaths = csv(values['ignore-paths']);
      if (values.key) {
        // The local check; with --deployment a failure here stops before the gateway is asked.
        const key = loadPublicKey(readFileSync(values.key));
        const progress = terminalProgress('verifying');
        const r = await verifyModel(dir, parseBundle(readFileSync(sig)), key, { signaturePath: sig, ignorePaths, hash: progress ? { onProgress: progress } : {} });
        out(`verified ${r.files} file(s), ${r.bytes} bytes, signer ${r.signerIdentity}\nmodel digest ${r.modelDigest}`);
      }
      if (values.deployment) {
        // The gateway verifies again under ITS trusted signers and scans; only that verification counts.
        const d = (await adminCall(adminClientOptions(values), 'POST', depPath(values.deployment, 'verify'), { path: resolve(dir), ignorePaths, signaturePath: resolve(sig) })) as DeploymentRecord & { scanReport?: ScanReport | null };
        if (d.scanReport) printScan(d.scanReport, false);
        out(deploymentLine(d));
      }
      return 0;
    }
    case 'scan': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'ignore-paths': { type: 'string' }, 'allow-global': { type: 'string' }, config: { type: 'string' } } });
      if (!positionals[0]) throw new UsageError('scan needs DIR or FILE');
      // --config: the same workload.scan limits the gateway's registry scans with, so a local scan agrees with it.
      const limits = values.config ? loadConfig(values.config).workload.scan : {};
      const extraAllowedGlobals = [...(limits.extraAllowedGlobals ?? []), ...csv(values['allow-global'])];
      const r = await scanModel(positionals[0], { ...limits, ignorePaths: csv(values['ignore-paths']), extraAllowedGlobals });
      printScan(r, !!values.json);
      return r.ok ? 0 : 1;
    }
    case 'evaluate': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...ADMIN_OPTIONS, dataset: { type: 'string' }, metrics: { type: 'string' }, family: { type: 'string' }, tenant: { type: 'string' }, json: { type: 'boolean' } } });
      if (!positionals[0] || !values.dataset || !values.metrics) throw new UsageError('evaluate needs MODEL, --dataset ID and --metrics FILE.json');
      const body = { model: positionals[0], metrics: readJsonFile(values.metrics), ...(values.family ? { family: values.family } : {}), ...(values.tenant ? { tenant: values.tenant } : {}) };
      const r = (await adminCall(adminClientOptions(values), 'POST', `/admin/v1/datasets/${encodeURIComponent(values.dataset)}/evaluate`, body)) as { model: string; metrics: Record<string, number>; policyIds: string[]; lineageEvent: string; dataset: { name: string; version: string } };
      out(values.json ? JSON.stringify(r, null, 2) : `evaluated ${r.model} on ${r.dataset.name}@${r.dataset.version}: ${Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(' ')} (policy ${r.policyIds.join(', ')}; lineage event ${r.lineageEvent})`);
      return 0;
    }
    case 'register':
    case 'promote':
    case 'quarantine':
    case 'retire':
    case 'attest':
    case 'rollback':
    case 'list':
    case 'show':
      return registryVerb(verb, args);
    default:
      throw new UsageError(verb ? `unknown verb ${JSON.stringify(verb)}` : 'missing verb');
  }
}

export function main(args: string[]): Promise<number> {
  return verbMain('model', USAGE, args, run, (e) => {
    if (!(e instanceof ModelManifestMismatch)) return;
    for (const f of e.changed) err(`changed: ${f}`);
    for (const r of e.renamed) err(`renamed: ${r.from} -> ${r.to}`);
    for (const f of e.added) err(`added (not signed): ${f}`);
    for (const f of e.removed) err(`missing: ${f}`);
  });
}
