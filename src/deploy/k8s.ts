// `warden k8s render`: a kustomize base for running Warden in Kubernetes, generated from warden.yaml so the
// NetworkPolicies say exactly what the segmentation section says (inference listener only from the ingress,
// admin listener only from the admin namespace, egress only to the stores, the upstreams and the tool
// backends, everything else denied) and the Deployment mounts what the config reads.
import { BlockList, isIP } from 'node:net';
import { stringify } from 'yaml';

export class RenderRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderRefused';
  }
}

type Labels = Record<string, string>;
interface Peer {
  namespace?: string;
  podLabels?: Labels;
  cidr?: string;
}
interface EgressRule {
  to: Peer[];
  ports: number[];
}
interface Segmentation {
  namespace?: string;
  inference: { from: Peer[] };
  admin: { from: Peer[] };
  /** Who may ask the Envoy ext_authz servers (the mesh's proxies), when extAuthz is configured. */
  extAuthz?: { from: Peer[] };
  egress: { postgres?: EgressRule; redis?: EgressRule; upstreams?: EgressRule[]; tools?: EgressRule[]; dns?: EgressRule };
}
/** The parts of warden.yaml (as written, schema-checked) that the manifests depend on. */
interface RawConfig {
  listeners?: Record<'inference' | 'admin', { host?: string; port?: number; tls?: { certFile: string; keyFile: string } } | undefined>;
  upstreams?: { name: string; baseUrl?: string; endpoints?: { url: string }[]; apiKeyEnv?: string }[];
  store?: { postgres?: { connectionStringEnv?: string }; redis?: { urlEnv?: string } };
  ledger?: { signingKey?: { pinEnv: string } };
  shutdown?: { drainTimeoutMs?: number };
  extAuthz?: { grpc?: { host?: string; port: number }; http?: { host?: string; port: number } };
  segmentation?: Segmentation;
}

export interface RenderOptions {
  /** The image to run (overlays pin the tag with kustomize `images:`). */
  image: string;
  replicas: number;
}

export const DATA_DIR = '/var/lib/warden';
export const CONFIG_DIR = '/etc/warden';
const KEYS_DIR = '/etc/warden/keys';
const APP = { 'app.kubernetes.io/name': 'warden', 'app.kubernetes.io/component': 'gateway' };
/** Kubernetes sets this label on every namespace (since 1.21): a namespace is selected by its name. */
const NS_NAME = 'kubernetes.io/metadata.name';
const DEFAULT_DNS: EgressRule = { to: [{ namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }], ports: [53] };

/** The base's files: name → content. `warden.yaml` is the config as given (a configMapGenerator reads it). */
export function renderKustomizeBase(configText: string, raw: RawConfig, opts: RenderOptions): Record<string, string> {
  const r = objects(raw, opts);
  const files: Record<string, string> = {
    'kustomization.yaml': stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: r.namespace,
      resources: ['deployment.yaml', 'services.yaml', 'pdb.yaml', 'hpa.yaml', 'networkpolicies.yaml'],
      // A changed config gets a new ConfigMap name, so the Deployment rolls.
      configMapGenerator: [{ name: 'warden-config', files: ['warden.yaml'] }],
    }),
    'deployment.yaml': stringify(r.deployment),
    'services.yaml': r.services.map((o) => stringify(o)).join('---\n'),
    'pdb.yaml': stringify(r.pdb),
    'hpa.yaml': stringify(r.hpa),
    'networkpolicies.yaml': r.policies.map((o) => stringify(o)).join('---\n'),
    'warden.yaml': configText,
  };
  return files;
}

/** Every object as one multi-document YAML stream (what `kubectl kustomize` of the base prints, unhashed). */
export function renderManifests(configText: string, raw: RawConfig, opts: RenderOptions): string {
  const r = objects(raw, opts);
  const ns = (o: Record<string, unknown>) => ({ ...o, metadata: { ...(o.metadata as object), namespace: r.namespace } });
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'warden-config', labels: APP }, data: { 'warden.yaml': configText } };
  return [configMap, r.deployment, ...r.services, r.pdb, r.hpa, ...r.policies].map((o) => stringify(ns(o))).join('---\n');
}

function objects(raw: RawConfig, opts: RenderOptions) {
  const seg = raw.segmentation;
  if (!seg) throw new RenderRefused('warden.yaml has no segmentation section: say who may reach each listener and where Warden may connect (docs/deploy.md)');
  const inf = listener(raw, 'inference', 8443);
  const adm = listener(raw, 'admin', 9443);
  if (opts.replicas > 1 && (!raw.store?.postgres || !raw.store?.redis)) {
    throw new RenderRefused(`${opts.replicas} replicas need the cluster stores (store.postgres and store.redis, docs/cluster.md): without them each replica would keep its own keys, limits and ledger`);
  }
  checkEgress(raw, seg);
  const authz = extAuthzPorts(raw, seg);
  const namespace = seg.namespace ?? 'warden';
  const drainMs = raw.shutdown?.drainTimeoutMs ?? 25_000;
  const envNames = [raw.store?.postgres?.connectionStringEnv, raw.store?.redis?.urlEnv, raw.ledger?.signingKey?.pinEnv, ...(raw.upstreams ?? []).map((u) => u.apiKeyEnv)].filter((v): v is string => !!v);
  const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } };
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: 'admin', scheme: 'HTTPS' }, periodSeconds, failureThreshold, timeoutSeconds: 3 });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'warden', labels: APP },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: APP },
      // Never below the wanted count during a rollout: a new pod is ready before an old one drains.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: APP },
        spec: {
          automountServiceAccountToken: false,
          // SIGTERM starts the drain (shutdown.drainTimeoutMs); SIGKILL only after it plus time to flush.
          terminationGracePeriodSeconds: Math.ceil(drainMs / 1000) + 10,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          initContainers: [
            {
              // Secret files are mounted group-readable; Warden refuses keys that others can read, so they are
              // copied into the data dir with mode 0600 first.
              name: 'install-keys',
              image: opts.image,
              command: ['/bin/sh', '-c', `cp -L ${KEYS_DIR}/* ${DATA_DIR}/ && chmod 600 ${DATA_DIR}/*`],
              securityContext: restricted,
              volumeMounts: [{ name: 'keys', mountPath: KEYS_DIR, readOnly: true }, { name: 'data', mountPath: DATA_DIR }],
            },
          ],
          containers: [
            {
              name: 'warden',
              image: opts.image,
              // The image's ENTRYPOINT is ["node", "/app/bin/warden.js"] (Dockerfile).
              args: ['up', '--config', `${CONFIG_DIR}/warden.yaml`, '--data-dir', DATA_DIR],
              ports: [
                { name: 'inference', containerPort: inf.port, protocol: 'TCP' },
                { name: 'admin', containerPort: adm.port, protocol: 'TCP' },
                ...authz.map((a) => ({ name: a.name, containerPort: a.port, protocol: 'TCP' })),
              ],
              env: envNames.map((name) => ({ name, valueFrom: { secretKeyRef: { name: 'warden-env', key: name } } })),
              startupProbe: probe('/healthz', 2, 30),
              readinessProbe: probe('/readyz', 5, 2),
              livenessProbe: probe('/healthz', 10, 3),
              resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
              securityContext: restricted,
              volumeMounts: [
                { name: 'config', mountPath: `${CONFIG_DIR}/warden.yaml`, subPath: 'warden.yaml', readOnly: true },
                { name: 'data', mountPath: DATA_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: 'warden-config' } },
            { name: 'keys', secret: { secretName: 'warden-keys', defaultMode: 0o440 } },
            { name: 'data', emptyDir: {} },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  const service = (name: string, ports: { name: string; port: number }[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `warden-${name}`, labels: APP },
    spec: { type: 'ClusterIP', selector: APP, ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })) },
  });
  const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'warden', labels: APP }, spec: { maxUnavailable: 1, selector: { matchLabels: APP } } };
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'warden', labels: APP },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'warden' },
      minReplicas: opts.replicas,
      maxReplicas: Math.max(opts.replicas, 10),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
  const services = [service('inference', [{ name: 'inference', port: inf.port }]), service('admin', [{ name: 'admin', port: adm.port }]), ...(authz.length ? [service('ext-authz', authz)] : [])];
  return { namespace, deployment, services, pdb, hpa, policies: networkPolicies(seg, inf.port, adm.port, authz.map((a) => a.port)) };
}

function listener(raw: RawConfig, name: 'inference' | 'admin', defaultPort: number): { port: number } {
  const l = raw.listeners?.[name];
  const host = l?.host ?? '127.0.0.1';
  if (host === 'localhost' || host === '::1' || host.startsWith('127.')) {
    throw new RenderRefused(`listeners.${name}.host is ${host}: nothing outside the pod could reach it; listen on 0.0.0.0 (the NetworkPolicies decide who may connect)`);
  }
  if (!l?.tls) {
    throw new RenderRefused(`listeners.${name}.tls is not set: every replica must serve the same certificate (mount it through the warden-keys Secret into ${DATA_DIR}); the dev CA is per pod`);
  }
  const port = l.port ?? defaultPort;
  if (port === 0) throw new RenderRefused(`listeners.${name}.port is 0: a Service needs a fixed port`);
  return { port };
}

/** The Envoy ext_authz ports (extAuthz.grpc / .http), reachable from segmentation.extAuthz.from only. */
function extAuthzPorts(raw: RawConfig, seg: Segmentation): { name: string; port: number }[] {
  const x = raw.extAuthz;
  if (!x) return [];
  if (!seg.extAuthz) throw new RenderRefused('extAuthz is configured but segmentation.extAuthz is not: say which proxies (the mesh) may ask for checks');
  return (['grpc', 'http'] as const).flatMap((kind) => {
    const l = x[kind];
    if (!l) return [];
    const host = l.host ?? '127.0.0.1';
    if (host === 'localhost' || host === '::1' || host.startsWith('127.')) throw new RenderRefused(`extAuthz.${kind}.host is ${host}: the mesh's proxies could not reach it; listen on 0.0.0.0`);
    if (l.port === 0) throw new RenderRefused(`extAuthz.${kind}.port is 0: a Service needs a fixed port`);
    return [{ name: `ext-authz-${kind}`, port: l.port }];
  });
}

/** Refuses a segmentation that would cut Warden off from a store or an upstream the config uses. */
function checkEgress(raw: RawConfig, seg: Segmentation): void {
  for (const p of [...seg.inference.from, ...seg.admin.from, ...(seg.extAuthz?.from ?? []), ...allEgress(seg).flatMap((r) => r.to)]) {
    if (p.cidr !== undefined && (p.namespace !== undefined || p.podLabels !== undefined)) throw new RenderRefused(`segmentation: a peer is pods (namespace, podLabels) or an address block (cidr), not both: ${JSON.stringify(p)}`);
    if (p.cidr !== undefined && !parseCidr(p.cidr)) throw new RenderRefused(`segmentation: ${JSON.stringify(p.cidr)} is not a CIDR`);
  }
  if (raw.store?.postgres && !seg.egress.postgres) throw new RenderRefused('store.postgres is configured but segmentation.egress.postgres is not: the policy would cut Warden off from PostgreSQL');
  if (raw.store?.redis && !seg.egress.redis) throw new RenderRefused('store.redis is configured but segmentation.egress.redis is not: the policy would cut Warden off from Redis');
  const ups = seg.egress.upstreams ?? [];
  for (const u of raw.upstreams ?? []) {
    for (const url of u.endpoints ? u.endpoints.map((e) => e.url) : [u.baseUrl!]) {
      if (ups.length === 0) throw new RenderRefused(`upstream ${u.name} (${url}) is configured but segmentation.egress.upstreams is empty`);
      const t = new URL(url);
      const host = t.hostname.replace(/^\[|\]$/g, '');
      const port = Number(t.port || (t.protocol === 'https:' ? 443 : 80));
      if (!isIP(host)) continue; // a name: which address it resolves to is the operator's to match
      const covered = ups.some((r) => r.ports.includes(port) && r.to.some((p) => p.cidr !== undefined && parseCidr(p.cidr)!.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4')));
      if (!covered) throw new RenderRefused(`upstream ${u.name} (${url}): no segmentation.egress.upstreams rule allows ${host} port ${port}`);
    }
  }
}

function allEgress(seg: Segmentation): EgressRule[] {
  const e = seg.egress;
  return [e.postgres, e.redis, ...(e.upstreams ?? []), ...(e.tools ?? []), e.dns].filter((r): r is EgressRule => !!r);
}

function parseCidr(c: string): BlockList | null {
  const [addr, bits, extra] = c.split('/');
  const family = isIP(addr ?? '');
  const n = Number(bits);
  if (!family || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) return null;
  const b = new BlockList();
  b.addSubnet(addr!, n, family === 4 ? 'ipv4' : 'ipv6');
  return b;
}

function peer(p: Peer): Record<string, unknown> {
  if (p.cidr !== undefined) return { ipBlock: { cidr: p.cidr } };
  return {
    ...(p.namespace !== undefined ? { namespaceSelector: { matchLabels: { [NS_NAME]: p.namespace } } } : {}),
    ...(p.podLabels !== undefined ? { podSelector: { matchLabels: p.podLabels } } : {}),
  };
}

function networkPolicies(seg: Segmentation, infPort: number, admPort: number, authzPorts: number[]): Record<string, unknown>[] {
  const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, labels: APP }, spec: { podSelector: { matchLabels: APP }, ...spec } });
  const tcp = (ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));
  const e = seg.egress;
  const dns = e.dns ?? DEFAULT_DNS;
  const rule = (r: EgressRule) => ({ to: r.to.map(peer), ports: tcp(r.ports) });
  return [
    // Selected pods accept and open nothing that a policy below does not allow.
    policy('warden-default-deny', { policyTypes: ['Ingress', 'Egress'] }),
    policy('warden-inference-ingress', { policyTypes: ['Ingress'], ingress: [{ from: seg.inference.from.map(peer), ports: tcp([infPort]) }] }),
    policy('warden-admin-ingress', { policyTypes: ['Ingress'], ingress: [{ from: seg.admin.from.map(peer), ports: tcp([admPort]) }] }),
    ...(authzPorts.length && seg.extAuthz ? [policy('warden-ext-authz-ingress', { policyTypes: ['Ingress'], ingress: [{ from: seg.extAuthz.from.map(peer), ports: tcp(authzPorts) }] })] : []),
    policy('warden-egress', {
      policyTypes: ['Egress'],
      egress: [
        ...(e.postgres ? [rule(e.postgres)] : []),
        ...(e.redis ? [rule(e.redis)] : []),
        ...(e.upstreams ?? []).map(rule),
        ...(e.tools ?? []).map(rule),
        { to: dns.to.map(peer), ports: dns.ports.flatMap((port) => [{ protocol: 'UDP', port }, { protocol: 'TCP', port }]) },
      ],
    }),
  ];
}
