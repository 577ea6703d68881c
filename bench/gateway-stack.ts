// What the gateway benchmark and the gateway profile both start: the demo upstream and `warden up` (each its
// own process, as deployed), an API key for a bench principal, and the small chat bodies they send.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { execFileSync } from 'node:child_process';
import { startChild, type Child } from './common.js';
import { createCa, issueServerCert } from '../src/network/dev-ca.js';

export const PROMPT = 'Summarize the quarterly report in two sentences.';
export const BODY = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: PROMPT }] });
export const STREAM_BODY = JSON.stringify({ model: 'demo-chat', stream: true, messages: [{ role: 'user', content: PROMPT }] });

const node = process.execPath;
const warden = resolve('bin/warden.js');

export async function startDemoUpstream(): Promise<{ child: Child; url: string }> {
  const child = await startChild(node, [warden, 'demo-upstream', '--port', '0'], /listening at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
  return { child, url: child.match[1]! };
}

export interface WardenUnderTest {
  child: Child;
  /** https://127.0.0.1:PORT (no /v1). */
  url: string;
  key: string;
  ca: string;
  dataDir: string;
}

/**
 * `warden up` with every plane in its default (embedded) configuration and limits set high enough not to
 * refuse the benchmark's load (they are still checked on every request). `nodeArgs` go before the script,
 * e.g. --cpu-prof. `extraConfig` is YAML appended to the config (top-level keys the base config does not set),
 * for a run that measures what one plane costs.
 */
export async function startWardenUnderTest(dir: string, upstream: string, nodeArgs: string[] = [], extraConfig = ''): Promise<WardenUnderTest> {
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(
    cfg,
    `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\n` +
      `limits: { requestsPerSecond: 1000000, burst: 1000000, concurrency: 10000, tokensPerMinute: 1000000000 }\n` +
      `upstreams:\n  - { name: demo, baseUrl: "${upstream}", models: [demo-chat] }\n` +
      // A key's scope is a ceiling: the grant comes from policy (the starter set lets consumers use granted models).
      `models:\n  demo-chat: { grantees: [consumers] }\n` +
      extraConfig,
  );
  const child = await startChild(node, [...nodeArgs, warden, 'up', '--config', cfg], /inference\s+(https:\/\/\S+)\/v1[\s\S]*admin\s+(https:\/\/\S+)[\s\S]*Bootstrap admin credential[^\n]*\n\s+(wdn_\S+)/);
  const [, url, admUrl, adminKey] = child.match as unknown as [string, string, string, string];
  const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
  const agent = new Agent({ connect: { ca } });
  try {
    const adm = async (path: string, body: unknown) => {
      const r = await request(admUrl + path, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const j = (await r.body.json()) as Record<string, unknown>;
      if (r.statusCode >= 300) throw new Error(`admin ${path}: ${JSON.stringify(j)}`);
      return j;
    };
    await adm('/admin/v1/principals', { id: 'bench', tenant: 'bench', groups: ['consumers'] });
    const key = (await adm('/admin/v1/keys', { principal: 'bench', models: ['demo-chat'], actions: ['chat'] })).key as string;
    return { child, url, key, ca, dataDir };
  } catch (e) {
    await child.stop();
    throw e;
  } finally {
    await agent.close();
  }
}

/** A wrk script that POSTs `body` with the given headers. */
export function wrkScript(dir: string, name: string, body: string, headers: Record<string, string>): string {
  const f = join(dir, `${name}.lua`);
  const lines = [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(body)}`, `wrk.headers["Content-Type"] = "application/json"`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

/**
 * The bare Node TLS proxy (dist/bench/bare-proxy.js) in front of `upstream`, on a certificate from a fresh bench
 * CA written into `dir`; `nodeArgs` go before the script. Returns the child and the CA to trust.
 */
export async function startBareProxy(dir: string, upstream: string, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ child: Child; url: string; caPem: string }> {
  const ca = await createCa('bench CA');
  const cert = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'c.pem'), cert.certPem);
  writeFileSync(join(dir, 'k.pem'), cert.keyPem, { mode: 0o600 });
  const child = await startChild(node, [...nodeArgs, 'dist/bench/bare-proxy.js', upstream, join(dir, 'c.pem'), join(dir, 'k.pem')], /listening at (https:\/\/127\.0\.0\.1:\d+)/, env);
  return { child, url: child.match[1]!, caPem: ca.certPem };
}

/** "src/ as of `<hash> <subject>`" for a result's header (the code the figures belong to). */
export function commitLine(): string {
  try {
    return `src/ as of \`${execFileSync('git', ['log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 80)}\``;
  } catch {
    return 'commit unknown';
  }
}
