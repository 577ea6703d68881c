// `warden model sign|verify|scan|register|promote|quarantine|rollback|list|show` (args exclude `model`).
// File verbs work on a model directory. Registry verbs work on the local data dir (the operator's offline
// path; /admin/v1/models is the API path): transitions are spooled to <data-dir>/registry-audit.jsonl, and
// the gateway moves them into the ledger on its next registry refresh (src/app/registry-spool.ts). The
// local operator is the principal; owning the data dir is the authorization.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { canonicalJson } from '../core/canonical-json.js';
import { isWardenError } from '../core/errors.js';
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
import { parseStatement } from '../workload/signing/statement.js';
import { verifyModel } from '../workload/signing/verify-model.js';

const USAGE = `usage: warden model <verb> [options]

  sign DIR --key KEY [--output FILE] [--ignore-paths a,b]
        KEY is a PEM private key (Ed25519 / ECDSA P-256) or a pkcs11: URI (RFC 7512)
  verify DIR --sig FILE --key PUBKEY [--ignore-paths a,b] [--deployment ID --data-dir D]
        recompute every digest and check the signature; with --deployment, also scan and
        record the verification in the registry (registered -> verified)
  scan DIR|FILE [--json] [--ignore-paths a,b] [--allow-global module.name,...]
  register DIR --model M --version V --upstream URL --tier T --region R --tenant X
        [--sig FILE] [--provenance FILE] [--sbom FILE] [--attestation-type T --reference k=v,...]
  promote ID | quarantine ID --reason TEXT | retire ID | rollback MODEL [--tenant --region --tier]
  list [--model M] [--state S] [--json] | show ID [--json]

Registry verbs take --data-dir (default ./.warden).`;

class UsageError extends Error {}

const csv = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

async function loadSigner(key: string): Promise<Signer & { close?: () => void }> {
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

function openRegistry(dataDir: string | undefined, trusted: ReturnType<typeof loadPublicKey>[] = []): ModelRegistry {
  const dir = resolve(dataDir ?? './.warden');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const auditFile = join(dir, 'registry-audit.jsonl');
  return new ModelRegistry({
    store: new SqliteRegistryStore(openSqlite(join(dir, 'warden.db'))),
    audit: (e) => appendFileSync(auditFile, canonicalJson(e) + '\n', { mode: 0o600 }),
    authorize: (p, action) => action === 'promoteModel' && p.admin === true,
    policy: { trustedSigners: trusted },
  });
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
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { sig: { type: 'string' }, key: { type: 'string' }, 'ignore-paths': { type: 'string' }, deployment: { type: 'string' }, 'data-dir': { type: 'string' } } });
      const dir = positionals[0];
      if (!dir || !values.key) throw new UsageError('verify needs DIR and --key');
      const sig = values.sig ?? join(dir, DEFAULT_SIGNATURE_NAME);
      const key = loadPublicKey(readFileSync(values.key));
      const progress = terminalProgress('verifying');
      const ignorePaths = csv(values['ignore-paths']);
      const r = await verifyModel(dir, parseBundle(readFileSync(sig)), key, { signaturePath: sig, ignorePaths, hash: progress ? { onProgress: progress } : {} });
      out(`verified ${r.files} file(s), ${r.bytes} bytes, signer ${r.signerIdentity}\nmodel digest ${r.modelDigest}`);
      if (values.deployment) {
        const scan = await scanModel(dir, { ignorePaths: [...ignorePaths, ...r.manifest.ignorePaths, 'model.sig'] });
        printScan(scan, false);
        const d = await openRegistry(values['data-dir'], [key]).verify(localPrincipal(), values.deployment, { verifiedModel: r, scanReport: scan });
        out(deploymentLine(d));
      }
      return 0;
    }
    case 'scan': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'ignore-paths': { type: 'string' }, 'allow-global': { type: 'string' } } });
      if (!positionals[0]) throw new UsageError('scan needs DIR or FILE');
      const r = await scanModel(positionals[0], { ignorePaths: csv(values['ignore-paths']), extraAllowedGlobals: csv(values['allow-global']) });
      printScan(r, !!values.json);
      return r.ok ? 0 : 1;
    }
    case 'register': {
      const { values, positionals } = parseArgs({
        args, allowPositionals: true,
        options: {
          model: { type: 'string' }, version: { type: 'string' }, upstream: { type: 'string' }, tier: { type: 'string' }, region: { type: 'string' }, tenant: { type: 'string' },
          sig: { type: 'string' }, provenance: { type: 'string' }, sbom: { type: 'string' }, 'attestation-type': { type: 'string' }, reference: { type: 'string' }, 'data-dir': { type: 'string' },
        },
      });
      const dir = positionals[0];
      if (!dir) throw new UsageError('register needs DIR');
      for (const k of ['model', 'version', 'upstream', 'tier', 'region', 'tenant'] as const) if (!values[k]) throw new UsageError(`register needs --${k}`);
      const bundleText = readFileSync(values.sig ?? join(dir, DEFAULT_SIGNATURE_NAME), 'utf8');
      // The digest is read from the (not yet authenticated) manifest; `verify --deployment` authenticates it.
      const digest = parseStatement(Buffer.from(parseBundle(bundleText).dsseEnvelope.payload, 'base64')).modelDigest;
      const readJson = (f: string | undefined) => (f ? (JSON.parse(readFileSync(f, 'utf8')) as unknown) : undefined);
      const reference = Object.fromEntries(csv(values.reference).map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new UsageError(`--reference expects k=v, got ${kv}`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }));
      const d = await openRegistry(values['data-dir']).register(localPrincipal(), {
        model: values.model!, version: values.version!, upstream: values.upstream!, tier: values.tier!, region: values.region!, tenant: values.tenant!,
        artifactDigest: digest, signatureBundle: bundleText, provenance: readJson(values.provenance), sbom: readJson(values.sbom),
        ...(values['attestation-type'] ? { attestation: { type: values['attestation-type'], referenceValues: reference } } : {}),
      });
      out(deploymentLine(d));
      return 0;
    }
    case 'promote':
    case 'quarantine':
    case 'retire':
    case 'show': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { reason: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } } });
      const id = positionals[0];
      if (!id) throw new UsageError(`${verb} needs a deployment ID`);
      const reg = openRegistry(values['data-dir']);
      if (verb === 'show') {
        const d = reg.get(id);
        out(values.json ? JSON.stringify(d, null, 2) : Object.entries(d).map(([k, v]) => `${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
        return 0;
      }
      if (verb === 'quarantine' && !values.reason) throw new UsageError('quarantine needs --reason');
      const p = localPrincipal();
      if (verb === 'promote') {
        const r = await reg.promote(p, id);
        out(deploymentLine(r.deployment) + (r.pendingApproval ? '\n(approval recorded; a second approver must promote)' : ''));
      } else out(deploymentLine(verb === 'quarantine' ? await reg.quarantine(p, id, values.reason!) : await reg.retire(p, id)));
      return 0;
    }
    case 'rollback': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { tenant: { type: 'string' }, region: { type: 'string' }, tier: { type: 'string' }, 'data-dir': { type: 'string' } } });
      if (!positionals[0]) throw new UsageError('rollback needs MODEL');
      const slot = values.tenant && values.region && values.tier ? { tenant: values.tenant, region: values.region, tier: values.tier } : undefined;
      out(deploymentLine(await openRegistry(values['data-dir']).rollback(localPrincipal(), positionals[0], slot)));
      return 0;
    }
    case 'list': {
      const { values } = parseArgs({ args, options: { model: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } } });
      const rows = openRegistry(values['data-dir']).list({ ...(values.model ? { model: values.model } : {}), ...(values.state ? { state: values.state as DeploymentRecord['state'] } : {}) });
      out(values.json ? JSON.stringify(rows, null, 2) : rows.length ? rows.map(deploymentLine).join('\n') : '(no deployments)');
      return 0;
    }
    default:
      throw new UsageError(verb ? `unknown verb ${JSON.stringify(verb)}` : 'missing verb');
  }
}

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'help' || verb === '--help' || verb === '-h') {
    out(USAGE);
    return 0;
  }
  try {
    return await run(verb, rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      err(`warden model: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ModelManifestMismatch) {
      for (const f of e.changed) err(`changed: ${f}`);
      for (const r of e.renamed) err(`renamed: ${r.from} -> ${r.to}`);
      for (const f of e.added) err(`added (not signed): ${f}`);
      for (const f of e.removed) err(`missing: ${f}`);
    }
    if (isWardenError(e)) {
      err(`warden model ${verb}: ${e.code}: ${e.message}`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      err(`warden model ${verb}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
