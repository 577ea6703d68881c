// Verifying a ledger entry in the browser, trusting only the ledger's public key (a C2SP vkey the operator
// pastes or confirms): the checkpoint's Ed25519 signature (C2SP signed-note) with WebCrypto, then the RFC 9162
// §2.1.3.2 inclusion proof from SHA-256(0x00 || entry) to the signed root. The server supplies data, never a verdict.
import { bytes, call, text } from './api.js';

const enc = new TextEncoder();
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (u: Uint8Array) => [...u].map((b) => b.toString(16).padStart(2, '0')).join('');
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const sha256 = async (u: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', u as BufferSource));
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export interface Checkpoint { origin: string; size: number; root: Uint8Array; text: string }

/** c2sp.org/signed-note: `<name>+<hex key id>+base64(0x01 || Ed25519 key)`; the id is SHA-256(name || \n || 0x01 || key)[:4]. */
export async function parseVkey(vkey: string): Promise<{ name: string; id: Uint8Array; key: CryptoKey }> {
  const m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey.trim());
  if (!m) throw new Error('the verifier key must be <name>+<hex key id>+<base64 key>');
  const material = b64(m[3]!);
  if (material[0] !== 0x01 || material.length !== 33) throw new Error('the verifier key is not an Ed25519 (type 0x01) key');
  const id = (await sha256(concat(enc.encode(m[1]! + '\n'), material))).slice(0, 4);
  if (hex(id) !== m[2]) throw new Error('the verifier key id does not match its name and key');
  const key = await crypto.subtle.importKey('raw', material.slice(1) as BufferSource, { name: 'Ed25519' }, false, ['verify']);
  return { name: m[1]!, id, key };
}

/** Verifies the signed note with the key; returns the checkpoint (tlog-checkpoint: origin, size, base64 root). */
export async function verifyCheckpoint(note: string, vkey: string): Promise<Checkpoint> {
  const k = await parseVkey(vkey);
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2).split('\n').filter((l) => l.length > 0);
  let verified = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== k.name) continue;
    const raw = b64(m[2]!);
    if (raw.length !== 68 || !equal(raw.slice(0, 4), k.id)) continue;
    if (await crypto.subtle.verify({ name: 'Ed25519' }, k.key, raw.slice(4) as BufferSource, enc.encode(body))) verified = true;
  }
  if (!verified) throw new Error(`no valid signature by ${k.name} on the checkpoint`);
  const [origin, size, root] = body.split('\n');
  if (origin !== k.name) throw new Error(`the checkpoint's origin ${origin} is not the key's name ${k.name}`);
  if (!/^\d+$/.test(size ?? '')) throw new Error('the checkpoint size is malformed');
  return { origin: origin!, size: Number(size), root: b64(root!), text: body };
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to. */
export async function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, path: Uint8Array[]): Promise<Uint8Array> {
  if (index >= size) throw new Error('index beyond the tree size');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) throw new Error('the proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('the proof is too short');
  return r;
}

/** c2sp.org/tlog-tiles: N as 3-digit groups, all but the last prefixed with x. */
export function tileIndexPath(n: number): string {
  const groups: string[] = [];
  let v = n;
  do {
    groups.unshift(String(v % 1000).padStart(3, '0'));
    v = Math.floor(v / 1000);
  } while (v > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? 'x' + g : g)).join('/');
}

/** The entries of bundle `tile` (uint16 big-endian length-prefixed), `width` of them. */
export async function entryBundle(tile: number, width: number): Promise<Uint8Array[]> {
  const raw = await bytes(`/audit/v1/tile/entries/${tileIndexPath(tile)}${width < 256 ? `.p/${width}` : ''}`);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < raw.length) {
    const len = (raw[o]! << 8) | raw[o + 1]!;
    out.push(raw.slice(o + 2, o + 2 + len));
    o += 2 + len;
  }
  return out;
}

export async function checkpointNote(): Promise<string> {
  return text('/audit/v1/checkpoint');
}

export async function servedVkey(): Promise<string> {
  return (await call<{ vkey: string }>('GET', '/audit/v1/keys')).vkey;
}

export interface EntryVerification { checkpoint: Checkpoint; leafHash: string; root: string; steps: string[] }

/** Verifies entry `index` (its bytes as served) against a checkpoint signed by `vkey`. */
export async function verifyEntry(index: number, entry: Uint8Array, vkey: string): Promise<EntryVerification> {
  const steps: string[] = [];
  const cp = await verifyCheckpoint(await checkpointNote(), vkey);
  steps.push(`checkpoint signature valid (Ed25519, key ${cp.origin}), tree size ${cp.size}`);
  if (index >= cp.size) throw new Error(`entry ${index} is not yet in the signed tree of size ${cp.size}`);
  const leafHash = await sha256(concat(Uint8Array.of(0), entry));
  steps.push(`leaf hash SHA-256(0x00 || entry) = ${hex(leafHash)}`);
  const proof = await call<{ hashes: string[] }>('GET', `/audit/v1/proof/inclusion?index=${index}&size=${cp.size}`);
  const root = await rootFromInclusionProof(index, cp.size, leafHash, proof.hashes.map(b64));
  if (!equal(root, cp.root)) throw new Error('the inclusion proof does not lead to the signed root');
  steps.push(`inclusion proof (${proof.hashes.length} hashes) leads to the signed root ${hex(root)}`);
  return { checkpoint: cp, leafHash: hex(leafHash), root: hex(root), steps };
}
