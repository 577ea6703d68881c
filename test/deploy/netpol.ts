// A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), for checking that the rendered
// policies allow exactly what the segmentation section says. It follows the API reference: a pod is isolated
// in a direction once any policy selecting it names that direction; then a connection is allowed only if some
// such policy has a rule whose peers and ports match.
import { BlockList, isIP } from 'node:net';

type Labels = Record<string, string>;
export interface Endpoint {
  namespace?: string;
  namespaceLabels?: Labels;
  podLabels?: Labels;
  /** Set for addresses outside the cluster (or a pod's IP, when matching ipBlock peers). */
  ip?: string;
}
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: unknown[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol?: string; port?: number | string }[];
}
export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

function selects(sel: Selector, labels: Labels = {}): boolean {
  if (sel.matchExpressions?.length) throw new Error('matchExpressions are not rendered by Warden; this evaluator does not read them');
  return Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function inCidr(ip: string, cidr: string): boolean {
  const [addr, bits] = cidr.split('/');
  const fam = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
  if ((isIP(ip) === 6 ? 'ipv6' : 'ipv4') !== fam) return false;
  const b = new BlockList();
  b.addSubnet(addr!, Number(bits), fam);
  return b.check(ip, fam);
}

function peerMatches(p: Peer, policyNs: string, other: Endpoint): boolean {
  if (p.ipBlock) return other.ip !== undefined && inCidr(other.ip, p.ipBlock.cidr) && !(p.ipBlock.except ?? []).some((c) => inCidr(other.ip!, c));
  if (other.namespace === undefined) return false; // not a pod
  const nsOk = p.namespaceSelector ? selects(p.namespaceSelector, other.namespaceLabels) : other.namespace === policyNs;
  const podOk = p.podSelector ? selects(p.podSelector, other.podLabels) : true;
  return nsOk && podOk;
}

function ruleMatches(r: Rule, peers: Peer[] | undefined, policyNs: string, other: Endpoint, port: number, protocol: string): boolean {
  const peerOk = !peers || peers.length === 0 || peers.some((p) => peerMatches(p, policyNs, other));
  const portOk = !r.ports || r.ports.length === 0 || r.ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port));
  return peerOk && portOk;
}

/** Whether `pod` (in `ns`, with `labels`) may be reached from `from` on port/protocol, or may reach `to`. */
export function allowed(policies: NetworkPolicy[], dir: 'Ingress' | 'Egress', pod: { namespace: string; labels: Labels }, other: Endpoint, port: number, protocol = 'TCP'): boolean {
  const applying = policies.filter((p) => p.metadata.namespace === pod.namespace && selects(p.spec.podSelector, pod.labels) && (p.spec.policyTypes ?? ['Ingress']).includes(dir));
  if (applying.length === 0) return true; // not isolated
  return applying.some((p) => (dir === 'Ingress' ? p.spec.ingress : p.spec.egress)?.some((r) => ruleMatches(r, dir === 'Ingress' ? r.from : r.to, p.metadata.namespace, other, port, protocol)) ?? false);
}
