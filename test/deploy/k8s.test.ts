// `warden k8s render` and the checked-in deploy/k8s: the base is what the renderer makes of deploy/k8s/warden.yaml,
// `kubectl kustomize` builds it and both overlays offline, every object is a known kind with its required fields
// and consistent references, and the NetworkPolicies allow exactly what the segmentation section says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runWarden } from '../helpers/proc.js';
import { allowed, type NetworkPolicy } from './netpol.js';

const K8S = resolve('deploy/k8s');
const CONFIG = join(K8S, 'warden.yaml');

function kustomize(dir: string): Record<string, any>[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
}

/** The API groups/versions and required fields of every kind Warden renders (Kubernetes API reference, v1.32). */
const KINDS: Record<string, { apiVersion: string; required: string[] }> = {
  ConfigMap: { apiVersion: 'v1', required: ['data'] },
  Service: { apiVersion: 'v1', required: ['spec.selector', 'spec.ports'] },
  Deployment: { apiVersion: 'apps/v1', required: ['spec.selector.matchLabels', 'spec.template.metadata.labels', 'spec.template.spec.containers'] },
  PodDisruptionBudget: { apiVersion: 'policy/v1', required: ['spec.selector.matchLabels'] },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', required: ['spec.scaleTargetRef.name', 'spec.maxReplicas', 'spec.metrics'] },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', required: ['spec.podSelector', 'spec.policyTypes'] },
};

const get = (o: any, path: string) => path.split('.').reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), o);
const subset = (a: Record<string, string>, b: Record<string, string>) => Object.entries(a).every(([k, v]) => b[k] === v);

function checkObjects(objs: Record<string, any>[], namespace: string): void {
  const kinds = objs.map((o) => o.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'Service']);
  for (const o of objs) {
    const k = KINDS[o.kind];
    assert.ok(k, `unknown kind ${o.kind}`);
    assert.equal(o.apiVersion, k.apiVersion, `${o.kind} apiVersion`);
    assert.match(o.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${o.kind} name`);
    assert.equal(o.metadata.namespace, namespace, `${o.kind}/${o.metadata.name} namespace`);
    for (const f of k.required) assert.notEqual(get(o, f), undefined, `${o.kind}/${o.metadata.name}: ${f} is required`);
  }
  const dep = objs.find((o) => o.kind === 'Deployment')!;
  const pod = dep.spec.template.spec;
  const podLabels = dep.spec.template.metadata.labels;
  assert.ok(subset(dep.spec.selector.matchLabels, podLabels), 'the Deployment selects its own pods');
  assert.ok(dep.spec.replicas >= 3);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.equal(pod.automountServiceAccountToken, false);
  const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
  for (const c of [...pod.initContainers, ...pod.containers]) {
    assert.ok(c.image, `${c.name} has an image`);
    assert.deepEqual([c.securityContext.readOnlyRootFilesystem, c.securityContext.allowPrivilegeEscalation, c.securityContext.runAsNonRoot, c.securityContext.capabilities.drop], [true, false, true, ['ALL']], c.name);
    for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `${c.name} mounts ${m.name}, which is a volume`);
  }
  const [w] = pod.containers;
  assert.deepEqual(w.args, ['up', '--config', '/etc/warden/warden.yaml', '--data-dir', '/var/lib/warden']);
  for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    assert.equal(w[p].httpGet.scheme, 'HTTPS');
    assert.ok(w.ports.some((cp: any) => cp.name === w[p].httpGet.port), `${p} names a container port`);
  }
  assert.equal(w.readinessProbe.httpGet.path, '/readyz');
  assert.equal(w.livenessProbe.httpGet.path, '/healthz');
  assert.ok(w.resources.requests.cpu && w.resources.requests.memory && w.resources.limits.memory);
  // The data dir and /tmp are the only writable places; the config and keys are read-only mounts.
  assert.deepEqual(w.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath).sort(), ['/tmp', '/var/lib/warden']);
  assert.ok(pod.terminationGracePeriodSeconds > 25, 'the grace period outlasts shutdown.drainTimeoutMs');
  // References: the (hashed) ConfigMap exists; Secrets are referenced, never rendered.
  const cm = objs.find((o) => o.kind === 'ConfigMap')!;
  assert.equal(volumes.get('config').configMap.name, cm.metadata.name);
  assert.equal(volumes.get('keys').secret.secretName, 'warden-keys');
  assert.deepEqual(w.env.map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]), [['WARDEN_PG_URL', 'warden-env', 'WARDEN_PG_URL'], ['WARDEN_REDIS_URL', 'warden-env', 'WARDEN_REDIS_URL']]);
  assert.ok(!objs.some((o) => o.kind === 'Secret'));
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    assert.ok(subset(s.spec.selector, podLabels), `${s.metadata.name} selects the pods`);
    for (const p of s.spec.ports) assert.ok(w.ports.some((cp: any) => cp.name === p.targetPort), `${s.metadata.name} targets a named container port`);
  }
  const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget')!;
  assert.ok(subset(pdb.spec.selector.matchLabels, podLabels));
  assert.equal(pdb.spec.maxUnavailable, 1);
  const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
  assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', dep.metadata.name]);
  assert.ok(hpa.spec.minReplicas >= 3 && hpa.spec.maxReplicas >= hpa.spec.minReplicas);
}

function checkSegmentation(objs: Record<string, any>[], namespace: string): void {
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[];
  const dep = objs.find((o) => o.kind === 'Deployment')!;
  const warden = { namespace, labels: dep.spec.template.metadata.labels as Record<string, string> };
  const ns = (name: string, podLabels: Record<string, string> = {}) => ({ namespace: name, namespaceLabels: { 'kubernetes.io/metadata.name': name }, podLabels });
  const ingress = ns('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' });
  const adminPod = ns('warden-admin', { app: 'console' });
  const stranger = ns('default', { app: 'web' });
  const ingressIn = (from: object, port: number) => allowed(policies, 'Ingress', warden, from, port);
  assert.equal(ingressIn(ingress, 8443), true, 'ingress controller → inference');
  assert.equal(ingressIn(ingress, 9443), false, 'ingress controller → admin');
  assert.equal(ingressIn(ns('ingress-nginx', { app: 'other' }), 8443), false, 'another pod in the ingress namespace');
  assert.equal(ingressIn(adminPod, 9443), true, 'admin namespace → admin');
  assert.equal(ingressIn(adminPod, 8443), false, 'admin namespace → inference');
  assert.equal(ingressIn(stranger, 8443), false);
  assert.equal(ingressIn(stranger, 9443), false);
  assert.equal(ingressIn(ns(namespace, warden.labels), 9443), false, 'not even another replica reaches the admin port');
  assert.equal(ingressIn({ ip: '203.0.113.7' }, 8443), false, 'nothing from outside the cluster');
  const out = (to: object, port: number, protocol = 'TCP') => allowed(policies, 'Egress', warden, to, port, protocol);
  assert.equal(out({ ip: '10.20.0.10' }, 5432), true, 'PostgreSQL');
  assert.equal(out({ ip: '10.20.0.11' }, 5432), false);
  assert.equal(out({ ip: '10.20.0.10' }, 22), false);
  assert.equal(out(ns('redis', { 'app.kubernetes.io/name': 'redis' }), 6379), true, 'Redis');
  assert.equal(out(ns('redis', { app: 'other' }), 6379), false);
  assert.equal(out({ ip: '10.40.0.11' }, 8000), true, 'upstream endpoint 1');
  assert.equal(out({ ip: '10.40.0.12' }, 8000), true, 'upstream endpoint 2');
  assert.equal(out({ ip: '10.40.0.12' }, 8001), false);
  assert.equal(out(ns('tools', { 'warden.dev/tool-backend': 'true' }), 443), true, 'tool backends');
  assert.equal(out(ns('tools', {}), 443), false);
  assert.equal(out(ns('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'UDP'), true, 'DNS');
  assert.equal(out({ ip: '8.8.8.8' }, 53, 'UDP'), false, 'no other resolver');
  assert.equal(out({ ip: '93.184.216.34' }, 443), false, 'no internet');
  assert.equal(out(stranger, 80), false);
}

test('the checked-in base is what `warden k8s render` makes of deploy/k8s/warden.yaml', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-k8s-'));
  try {
    const r = await runWarden(['k8s', 'render', '--config', CONFIG, '--image', 'warden:latest', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    const base = join(K8S, 'base');
    assert.deepEqual(readdirSync(dir).sort(), readdirSync(base).sort());
    for (const f of readdirSync(dir)) assert.equal(readFileSync(join(base, f), 'utf8'), readFileSync(join(dir, f), 'utf8'), `deploy/k8s/base/${f} is stale: re-render it`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl kustomize builds the base and both overlays; every object is complete and consistent; the policies segment as configured', () => {
  for (const [dir, namespace, image] of [
    ['base', 'warden', 'warden:latest'],
    ['overlays/production', 'warden', 'registry.example.com/warden:0.1.0'],
    ['overlays/staging', 'warden-staging', 'registry.example.com/warden:0.1.0-rc'],
  ] as const) {
    const objs = kustomize(join(K8S, dir));
    checkObjects(objs, namespace);
    checkSegmentation(objs, namespace);
    const pod = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    assert.deepEqual([...pod.initContainers, ...pod.containers].map((c: any) => c.image), [image, image], dir);
  }
});

test('without --out: one YAML stream with the ConfigMap inline, every object in the namespace', async () => {
  const r = await runWarden(['k8s', 'render', '--config', CONFIG]);
  assert.equal(r.code, 0, r.stderr);
  const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
  checkObjects(objs, 'warden');
  checkSegmentation(objs, 'warden');
  assert.equal(objs.find((o) => o.kind === 'ConfigMap')!.data['warden.yaml'], readFileSync(CONFIG, 'utf8'));
});

test('render refuses configs that would not work in the cluster, naming what to fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-k8s-bad-'));
  const good = readFileSync(CONFIG, 'utf8');
  const cases: [string, string, RegExp][] = [
    ['no segmentation', good.slice(0, good.indexOf('segmentation:')), /no segmentation section/],
    ['loopback listener', good.replace('host: 0.0.0.0\n    port: 8443', 'host: 127.0.0.1\n    port: 8443'), /listeners\.inference\.host is 127\.0\.0\.1/],
    ['no listener certificate', good.replace(/\n {4}tls: \{ certFile: \/var\/lib\/warden\/admin\.pem[^\n]*/, ''), /listeners\.admin\.tls is not set/],
    ['no egress to PostgreSQL', good.replace(/\n {4}postgres: \{ to: [^\n]*/, ''), /segmentation\.egress\.postgres is not/],
    ['upstream outside the egress rules', good.replace('10.40.0.12:8000', '10.41.0.12:8000'), /upstream vllm \(http:\/\/10\.41\.0\.12:8000\/v1\): no segmentation\.egress\.upstreams rule allows 10\.41\.0\.12 port 8000/],
    ['three replicas without the cluster stores', good.replace(/\nstore:\n[^\n]*\n[^\n]*/, '').replace(/\n {4}postgres: \{ to: [^\n]*/, '').replace(/\n {4}redis: \{ to: [^\n]*/, ''), /3 replicas need the cluster stores/],
    ['a peer both pods and addresses', good.replace('{ namespace: warden-admin }', '{ namespace: warden-admin, cidr: 10.0.0.0/8 }'), /a peer is pods .* or an address block .*, not both/],
    ['a bad CIDR', good.replace('10.20.0.10/32', '10.20.0.10/33'), /"10\.20\.0\.10\/33" is not a CIDR/],
    ['an unknown key', good.replace('  admin:\n    from:', '  admin:\n    form:'), /unknown key "form"/],
  ];
  try {
    for (const [name, text, re] of cases) {
      const f = join(dir, 'warden.yaml');
      writeFileSync(f, text);
      const r = await runWarden(['k8s', 'render', '--config', f]);
      assert.equal(r.code, 2, `${name}: ${r.stdout}`);
      assert.match(r.stderr, re, name);
      assert.equal(r.stdout, '', name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with extAuthz: the ext_authz ports are container ports and a Service, reachable from segmentation.extAuthz.from only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-k8s-authz-'));
  const good = readFileSync(CONFIG, 'utf8');
  const withAuthz = good.replace('segmentation:\n', 'extAuthz:\n  grpc: { host: 0.0.0.0, port: 9001 }\n  http: { host: 0.0.0.0, port: 9002 }\n  clientCaFile: /var/lib/warden/mesh-ca.pem\nsegmentation:\n  extAuthz: { from: [{ namespace: istio-system, podLabels: { app: istio-ingressgateway } }] }\n');
  try {
    const f = join(dir, 'warden.yaml');
    writeFileSync(f, withAuthz);
    const r = await runWarden(['k8s', 'render', '--config', f]);
    assert.equal(r.code, 0, r.stderr);
    const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
    const w = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0];
    assert.deepEqual(w.ports.map((p: any) => [p.name, p.containerPort]).slice(2), [['ext-authz-grpc', 9001], ['ext-authz-http', 9002]]);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'warden-ext-authz')!;
    assert.deepEqual(svc.spec.ports.map((p: any) => p.targetPort), ['ext-authz-grpc', 'ext-authz-http']);
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[];
    const warden = { namespace: 'warden', labels: objs.find((o) => o.kind === 'Deployment')!.spec.template.metadata.labels as Record<string, string> };
    const mesh = { namespace: 'istio-system', namespaceLabels: { 'kubernetes.io/metadata.name': 'istio-system' }, podLabels: { app: 'istio-ingressgateway' } };
    const other = { ...mesh, podLabels: { app: 'istiod' } };
    assert.equal(allowed(policies, 'Ingress', warden, mesh, 9001), true, 'the mesh gateway → gRPC ext_authz');
    assert.equal(allowed(policies, 'Ingress', warden, mesh, 9002), true, 'the mesh gateway → HTTP ext_authz');
    assert.equal(allowed(policies, 'Ingress', warden, mesh, 9443), false, 'the mesh gateway → admin');
    assert.equal(allowed(policies, 'Ingress', warden, other, 9001), false, 'another pod of the mesh namespace');
    const ingress = { namespace: 'ingress-nginx', namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' }, podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
    assert.equal(allowed(policies, 'Ingress', warden, ingress, 9001), false, 'the inference ingress does not reach ext_authz');
    for (const [name, text, re] of [
      ['no segmentation.extAuthz', withAuthz.replace(/\n {2}extAuthz: \{ from: [^\n]*/, ''), /segmentation\.extAuthz is not/],
      ['loopback ext_authz', withAuthz.replace('grpc: { host: 0.0.0.0', 'grpc: { host: 127.0.0.1'), /extAuthz\.grpc\.host is 127\.0\.0\.1/],
    ] as const) {
      writeFileSync(f, text);
      const bad = await runWarden(['k8s', 'render', '--config', f]);
      assert.equal(bad.code, 2, name);
      assert.match(bad.stderr, re, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
