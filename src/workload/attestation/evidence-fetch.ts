// How Warden asks a confidential deployment for attestation evidence (docs/models.md, "Evidence endpoint"):
//   GET <upstream origin><evidencePath>?nonce=<64 hex>   →   200 application/json, one of
//   {"type":"nitro","document":"<base64 COSE_Sign1>"}
//   {"type":"sev-snp","report":"<base64>","endorsementCert":"<PEM | base64 DER>","intermediates":[...],"publicKey":"<base64 SPKI DER>"}
//   {"type":"tdx","quote":"<base64 DCAP quote v4/v5>","publicKey":"<base64 SPKI DER>"}
//   {"type":"jwt","token":"<compact JWS>"}
// The call goes over the deployment's own upstream pool (same origin, same TLS trust), with a time and size
// limit; anything else is AttestationUnavailable / AttestationMalformed and the monitor withdraws trust.
import type { UpstreamTarget } from '../../network/upstream.js';
import { AttestationMalformed, AttestationUnavailable, type Evidence } from './index.js';

const MAX_EVIDENCE_BYTES = 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Field(o: Record<string, unknown>, name: string): Buffer {
  const v = o[name];
  if (typeof v !== 'string' || v.length === 0 || !BASE64.test(v)) throw new AttestationMalformed(`evidence field ${name} must be base64`);
  return Buffer.from(v, 'base64');
}

/** A PEM certificate stays text; anything else must be base64 DER. */
function certField(v: unknown, name: string): Uint8Array | string {
  if (typeof v === 'string' && v.includes('-----BEGIN CERTIFICATE-----')) return v;
  return base64Field({ [name]: v }, name);
}

export function parseEvidenceJson(body: Buffer): Evidence {
  let o: unknown;
  try {
    o = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AttestationMalformed('the evidence endpoint did not answer JSON');
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new AttestationMalformed('evidence must be a JSON object');
  const e = o as Record<string, unknown>;
  switch (e.type) {
    case 'nitro':
      return { type: 'nitro', document: base64Field(e, 'document') };
    case 'sev-snp': {
      const intermediates = e.intermediates;
      if (intermediates !== undefined && !Array.isArray(intermediates)) throw new AttestationMalformed('evidence field intermediates must be a list');
      return {
        type: 'sev-snp',
        report: base64Field(e, 'report'),
        endorsementCert: certField(e.endorsementCert, 'endorsementCert'),
        ...(intermediates ? { intermediates: intermediates.map((c, i) => certField(c, `intermediates[${i}]`)) } : {}),
        ...(e.publicKey !== undefined ? { publicKey: base64Field(e, 'publicKey') } : {}),
      };
    }
    case 'tdx':
      return {
        type: 'tdx',
        quote: base64Field(e, 'quote'),
        ...(e.publicKey !== undefined ? { publicKey: base64Field(e, 'publicKey') } : {}),
      };
    case 'jwt':
      if (typeof e.token !== 'string' || e.token.length === 0) throw new AttestationMalformed('evidence field token must be a compact JWS');
      return { type: 'jwt', token: e.token };
    default:
      throw new AttestationMalformed(`unknown evidence type ${JSON.stringify(e.type)}`);
  }
}

export function createEvidenceFetcher(o: { evidencePath: string; timeoutMs: number; targetOf: (deploymentId: string) => UpstreamTarget | null }) {
  return async function fetchEvidence(deploymentId: string, nonce: Uint8Array): Promise<Evidence> {
    const target = o.targetOf(deploymentId);
    if (!target) throw new AttestationUnavailable(`deployment ${deploymentId} is not routable; nothing to challenge`);
    let r;
    try {
      r = await target.pool.request({
        method: 'GET',
        path: `${o.evidencePath}?nonce=${Buffer.from(nonce).toString('hex')}`,
        headers: { accept: 'application/json' },
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      });
    } catch (e) {
      throw new AttestationUnavailable(`the evidence endpoint of ${deploymentId} is unreachable (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of r.body) {
        n += (c as Buffer).length;
        if (n > MAX_EVIDENCE_BYTES) {
          r.body.destroy();
          throw new AttestationMalformed(`the evidence of ${deploymentId} exceeds ${MAX_EVIDENCE_BYTES} bytes`);
        }
        chunks.push(c as Buffer);
      }
    } catch (e) {
      if (e instanceof AttestationMalformed) throw e;
      throw new AttestationUnavailable(`the evidence of ${deploymentId} could not be read (${(e as Error).message})`);
    }
    if (r.statusCode !== 200) throw new AttestationUnavailable(`the evidence endpoint of ${deploymentId} answered HTTP ${r.statusCode}`);
    return parseEvidenceJson(Buffer.concat(chunks, n));
  };
}
