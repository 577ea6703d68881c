// `warden k8s render`: prints the Kubernetes manifests for a warden.yaml, or writes them as a kustomize base.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, parseRawConfig } from '../config/config.js';
import { RenderRefused, renderKustomizeBase, renderManifests } from '../deploy/k8s.js';
import { CliError } from './admin-client.js';

const USAGE = `usage: warden k8s render --config warden.yaml [--image IMAGE] [--replicas N] [--out DIR]
  without --out: every object as one YAML stream (kubectl apply -f -)
  with --out:    a kustomize base in DIR (kustomization.yaml, the objects, and warden.yaml for its ConfigMap)`;

export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== 'render') throw new CliError(USAGE, 2);
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, image: { type: 'string' }, replicas: { type: 'string' }, out: { type: 'string' } } });
  if (!values.config) throw new CliError(`--config is required\n${USAGE}`, 2);
  const replicas = values.replicas === undefined ? 3 : Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 1000) throw new CliError(`--replicas must be 1-1000, got ${values.replicas}`, 2);
  let text: string;
  try {
    text = readFileSync(values.config, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${values.config}: ${(e as Error).message}`, 2);
  }
  // The config as written: environment variables are the pods' (from the warden-env Secret), not this shell's.
  const raw = parseRawConfig(text, values.config);
  const opts = { image: values.image ?? 'warden:latest', replicas };
  try {
    if (!values.out) {
      process.stdout.write(renderManifests(text, raw, opts));
      return 0;
    }
    const files = renderKustomizeBase(text, raw, opts);
    mkdirSync(values.out, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(values.out, name), content);
    process.stdout.write(`kustomize base written to ${values.out}: ${Object.keys(files).join(', ')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof RenderRefused) throw new ConfigError(`${values.config}: ${e.message}`);
    throw e;
  }
}
