// `warden` — the command line. Each verb is a thin layer over the library or the admin API.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/config.js';
import { startWarden, startupRefusal, type RunningWarden } from '../app/warden.js';
import { startDemoUpstream, DEMO_MODELS } from '../demo/upstream.js';
import { CliError } from './admin-client.js';
import { isWardenError, StartupRefused } from '../core/errors.js';
import { keysMain, principalsMain, tokensMain } from './keys.js';
import { checkWorkersConfig, parseWorkers, runPrimary, WORKER_READY, workerNumber } from './workers.js';
import cluster from 'node:cluster';

const USAGE = `usage: warden <command> [options]

  up [--config warden.yaml] [--data-dir DIR] [--workers N]
                                                 start the gateway (embedded defaults); a refused start prints
                                                 one line (exit 2: the config, 1: else; WARDEN_DEBUG=1: stack);
                                                 --workers N: N processes on the same listeners (needs
                                                 store.postgres and store.redis; docs/cluster.md)
  demo-upstream [--port N]                       run the demo (fake) OpenAI-compatible model server alone
  principals create|list|disable|enable|bind-issuer manage principals (admin API)
  keys create|list|effective|rotate|revoke       manage API keys; effective: scope ∩ what policy grants
  tokens revoke --jti ID | --token-file FILE     revoke a JIT token from /v1/token before it expires
  policy validate|test|diff|explain              policy-as-code tools
  audit verify                                   verify the ledger offline
  ledger search                                  search ledger entries by principal, model, decision, time (admin API)
  ledger key list|rotate                         the ledger signing key, the keys it replaced; rotate it (docs/ledger.md)
  receipt verify                                 verify a response receipt offline
  witness [key] --data-dir DIR --log-key VKEY    run a C2SP tlog-witness for a log; key: print its verifier key
  migrate [--config warden.yaml]                 bring the store.postgres schema up to this release
  inspect [FILE|-] [--jsonl] | --eval F.jsonl    run the content detectors on a text; measure them
  model sign|verify|scan|register|...            model artifacts and the registry
  data source|sign|verify|register|show|list|retire   data sources and signed datasets
  tools list|show|create|update|delete|definition|approve-definition   the tool registry (admin API)
  agents list|show|register|remove|approve-card  the A2A agent registry (admin API)
  approvals list|approve|deny                    held tool calls (admin API)
  monitor list|reset|drift                       what the monitor sees of principals and deployments; resets, drift approvals (admin API)
  playbook list|revert|simulate                  response playbooks: steps run, undo one; replay traffic in dry run
  inventory [--json] [--flagged]                 every model, deployment, tool, key and principal with risk flags (admin API)
  redteam run|history|show|attacks               attack the configured models through Warden and report success (admin API)
  budgets show|set                               token and cost budgets: used, left, overrides (admin API)
  data migrate|rewrap [--config F]               rewrap stored data keys: old formats, KEK rotation, BYOK (Warden stopped)
  erase SUBJECT                                  right to erasure: delete a principal's payloads and retrieval chunks, destroy its data key (admin API)
  vector-stores list|show|delete                 every tenant's vector stores (/v1/vector_stores) (admin API)
  backup create|verify|restore --key K …        encrypted, verified backups of the data dir (restore: empty dir only)
  data new-key FILE                              a new 32-byte key file (mode 0600) for a KEK or a backup key
  k8s render --config warden.yaml [--out DIR]   Kubernetes manifests (kustomize base) with NetworkPolicies from segmentation
  release build --key PRIVATE.pem [--out DIR]    npm pack + CycloneDX SBOM + signed SLSA provenance (npm run release)
  verify-release TGZ --provenance F --sbom F --key PUB   check a release: signature, tarball and SBOM digests

Admin verbs read WARDEN_ADMIN_KEY (an admin API key), WARDEN_ADMIN_URL (default https://127.0.0.1:9443)
and the CA from <data-dir>/ca.pem (or WARDEN_CA).`;

async function up(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, workers: { type: 'string' } } });
  const worker = workerNumber();
  if (worker === null) {
    let workers: number;
    try {
      workers = parseWorkers(values.workers);
      if (workers > 1) checkWorkersConfig(workers, loadConfig(values.config));
    } catch (e) {
      throw startupRefusal(e);
    }
    if (workers > 1 && cluster.isPrimary) return runPrimary(workers, (line) => void process.stdout.write(line + '\n'));
  }
  // Handlers first: a SIGTERM that arrives while starting (or right after the banner) still shuts down cleanly.
  const stopRequested = untilSignal();
  let w: RunningWarden;
  try {
    const config = loadConfig(values.config);
    if (values['data-dir']) config.dataDir = resolve(values['data-dir']);
    w = await startWarden(config, worker === null ? {} : { worker });
  } catch (e) {
    throw startupRefusal(e);
  }
  if (worker !== null) process.send?.(WORKER_READY);
  const out: string[] = [
    '',
    'Warden is running.',
    `  inference  ${w.inferenceUrl}/v1   (TLS 1.3 only)`,
    `  admin      ${w.adminUrl}          (/admin/v1, /metrics, /healthz, /readyz)`,
    ...(w.consoleUrl ? [`  console    ${w.consoleUrl}   (web console: sign in with the bootstrap key below, or your IdP; docs/console.md)`] : []),
    `  CA         ${w.caPemPath}   (trust it: curl --cacert, NODE_EXTRA_CA_CERTS; the warden CLI reads it from --data-dir or WARDEN_CA)`,
    `  data dir   ${w.dataDir}`,
    `  ledger key ${w.ledgerVerifierKey}   (verify: WARDEN_ADMIN_KEY=... warden audit verify --log ${w.adminUrl}/audit/v1 --key <this>)`,
  ];
  if (w.inferenceOrigin !== w.inferenceUrl) out.push(`  public     ${w.inferenceOrigin}/v1   (listeners.inference.publicUrl: tokens and proofs name this origin)`);
  if (w.adminOrigin !== w.adminUrl) out.push(`  public     ${w.adminOrigin}   (listeners.admin.publicUrl)`);
  if (w.demoUpstreamUrl) out.push(`  upstream   DEMO echo model server at ${w.demoUpstreamUrl} (models: ${DEMO_MODELS.join(', ')}) — a fake, not a real LLM`);
  if (w.bootstrapKey) {
    out.push('', 'Bootstrap admin credential (shown once, store it now):', `  ${w.bootstrapKey}`, '', `  export WARDEN_ADMIN_KEY=${w.bootstrapKey}`);
  }
  out.push('');
  // Workers after the first print only what the first did not know: a bootstrap credential (never, in practice).
  if (worker === null || worker === 1) process.stdout.write(out.join('\n') + '\n');
  else if (w.bootstrapKey) process.stdout.write(out.slice(out.indexOf('Bootstrap admin credential (shown once, store it now):') - 1).join('\n') + '\n');
  // SIGHUP: re-read rotated listener certificates (a bad pair is refused; the current one stays).
  const onHup = () => {
    try {
      const r = w.reloadTls();
      w.log.info({ reloaded: r.reloaded }, r.reloaded.length ? 'listener certificates reloaded' : 'SIGHUP: no listener certificate is configured (listeners.*.tls)');
    } catch (e) {
      w.log.error({ err: e }, 'listener certificate reload refused; the current certificates stay in service');
    }
  };
  process.on('SIGHUP', onHup);
  await stopRequested;
  process.off('SIGHUP', onHup);
  // Finish what is under way (up to shutdown.drainTimeoutMs), flush the ledger, close the stores. A second
  // signal does not cut the drain short (the deadline does; an orchestrator's last word is SIGKILL).
  const again = (sig: NodeJS.Signals) => w.log.warn({ signal: sig }, 'already shutting down: waiting for requests under way (shutdown.drainTimeoutMs)');
  process.on('SIGINT', again);
  process.on('SIGTERM', again);
  await w.shutdown();
  process.off('SIGINT', again);
  process.off('SIGTERM', again);
  // A worker's channel to the primary would keep it alive after everything else has closed.
  if (worker !== null) process.disconnect?.();
  return 0;
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

async function demoUpstream(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const port = values.port === undefined ? 8000 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got ${values.port}`, 2);
  const stopRequested = untilSignal();
  const { server, url } = await startDemoUpstream(port, values.host ?? '127.0.0.1');
  process.stdout.write(`DEMO upstream (fake echo model, not a real LLM) listening at ${url} — models: ${DEMO_MODELS.join(', ')}\n`);
  await stopRequested;
  server.close();
  return 0;
}

/** Verbs implemented by a plane's own CLI module (src/cli/<name>.ts exporting `main(args)`). */
const PLANE_VERBS: Record<string, { module: string; pass: 'rest' | 'all' }> = {
  policy: { module: './policy.js', pass: 'rest' },
  audit: { module: './audit.js', pass: 'all' },
  ledger: { module: './ledger.js', pass: 'rest' },
  receipt: { module: './audit.js', pass: 'all' },
  inspect: { module: './inspect.js', pass: 'rest' },
  model: { module: './model.js', pass: 'rest' },
  data: { module: './data.js', pass: 'rest' },
  approvals: { module: './approvals.js', pass: 'rest' },
  tools: { module: './tools.js', pass: 'rest' },
  agents: { module: './agents.js', pass: 'rest' },
  monitor: { module: './monitor.js', pass: 'rest' },
  playbook: { module: './playbook.js', pass: 'rest' },
  inventory: { module: './inventory.js', pass: 'rest' },
  redteam: { module: './redteam.js', pass: 'rest' },
  budgets: { module: './budgets.js', pass: 'rest' },
  witness: { module: './witness.js', pass: 'rest' },
  migrate: { module: './migrate.js', pass: 'rest' },
  backup: { module: './backup.js', pass: 'rest' },
  erase: { module: './erase.js', pass: 'rest' },
  'vector-stores': { module: './vector-stores.js', pass: 'rest' },
  k8s: { module: './k8s.js', pass: 'rest' },
  release: { module: './release.js', pass: 'all' },
  'verify-release': { module: './release.js', pass: 'all' },
};

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'up':
        return await up(rest);
      case 'demo-upstream':
        return await demoUpstream(rest);
      case 'keys':
        return await keysMain(rest);
      case 'principals':
        return await principalsMain(rest);
      case 'tokens':
        return await tokensMain(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
    }
    const plane = PLANE_VERBS[cmd];
    if (plane) {
      const file = fileURLToPath(new URL(plane.module, import.meta.url));
      if (!existsSync(file)) throw new CliError(`warden ${cmd}: not available in this build`, 2);
      const mod = (await import(plane.module)) as { main(args: string[]): Promise<number> };
      return await mod.main(plane.pass === 'all' ? argv : rest);
    }
    process.stderr.write(`warden: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}\n`);
    return 2;
  } catch (e) {
    // One line an operator can act on; the stack only when asked for (WARDEN_DEBUG=1).
    if (e instanceof StartupRefused) {
      process.stderr.write(`warden: cannot start: ${e.message.split('\n').map((l) => l.trim()).filter(Boolean).join('; ')}\n`);
      if (process.env.WARDEN_DEBUG === '1') process.stderr.write(`${e.cause instanceof Error && e.cause.stack ? e.cause.stack : e.stack}\n`);
      return e.kind === 'config' ? 2 : 1;
    }
    if (e instanceof CliError) {
      process.stderr.write(`warden ${cmd}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`warden: invalid configuration\n${e.message}\n`);
      return 2;
    }
    if (e && typeof e === 'object' && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`warden ${cmd}: ${(e as unknown as Error).message}\n`);
      return 2;
    }
    // A file the command was pointed at that cannot be opened (missing, a directory, not readable): the system's
    // one line names the path and the operation; a stack would only bury it.
    if (isFileError(e)) {
      process.stderr.write(`warden ${cmd}: ${e.message}\n`);
      return 2;
    }
    // A refusal Warden itself raised (a certificate that does not fit its key, an attestation anchor that does
    // not parse, …) is the whole message; anything else is a bug, printed with its stack.
    if (e instanceof Error && (e.name === 'ServerCertificateInvalid' || isWardenError(e))) {
      process.stderr.write(`warden ${cmd}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`warden ${cmd}: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']);

function isFileError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && FILE_ERRORS.has(String((e as NodeJS.ErrnoException).code));
}
