// Envoy's gRPC external authorization service, envoy.service.auth.v3.Authorization/Check (proto/envoy,
// loaded from the repository at start-up). Each CheckRequest becomes an ExternalCheck that the gateway decides
// through its own stages; the CheckResponse carries the decision: OK with headers for the upstream and the
// client, or a denial status (PERMISSION_DENIED, UNAUTHENTICATED, ...) with Envoy's denied_response. A
// CheckRequest without an HTTP request in it is answered INVALID_ARGUMENT, which Envoy turns into a refusal.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { CheckOutcome, ExternalCheck } from '../external-check.js';
import type { ForwardedCertificate } from '../../identity/mtls/forwarded-cert.js';
import { allowed, clientAllowed, denied, HEADERS_TO_REMOVE } from './answer.js';

export const PROTO_DIR = fileURLToPath(new URL('../../../../proto', import.meta.url));

/** google.rpc.Code values (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto). */
const RPC = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16, UNAVAILABLE: 14, INTERNAL: 13 } as const;

export function rpcCodeFor(status: number): number {
  if (status === 401) return RPC.UNAUTHENTICATED;
  if (status === 403) return RPC.PERMISSION_DENIED;
  if (status === 404) return RPC.NOT_FOUND;
  if (status === 429) return RPC.RESOURCE_EXHAUSTED;
  if (status >= 400 && status < 500) return RPC.INVALID_ARGUMENT;
  return RPC.UNAVAILABLE;
}

export interface ExtAuthzServerOptions {
  check(x: ExternalCheck): Promise<CheckOutcome>;
  /** Checks a forwarded client certificate against the inference listener's trust bundle (absent: mTLS is off). */
  verifyPeer?: (urlEncodedPem: string) => ForwardedCertificate;
  allowedClients: readonly string[];
  tls: { certPem: string; keyPem: string; clientCaPem: string };
  log: Logger;
}

interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}

interface CheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: { address?: string } }; certificate?: string };
    request?: { http?: { method?: string; path?: string; headers?: Record<string, string>; header_map?: { headers?: HeaderValue[] }; body?: string; raw_body?: Buffer } };
  };
}

class MalformedCheck extends Error {}

const header = (key: string, value: string) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });

/** The CheckRequest as an ExternalCheck; throws MalformedCheck for what Envoy never sends. */
export function externalCheckOf(req: CheckRequest, verifyPeer: ExtAuthzServerOptions['verifyPeer']): ExternalCheck {
  const attrs = req.attributes;
  const http = attrs?.request?.http;
  if (!http?.method || !http.path) throw new MalformedCheck('attributes.request.http with a method and a path is required');
  const sourceIp = attrs?.source?.address?.socket_address?.address;
  // The network stage checks source addresses: a check without one cannot be judged.
  if (!sourceIp) throw new MalformedCheck('attributes.source.address.socket_address.address is required');
  const headers: Record<string, string[]> = {};
  const add = (k: string, v: string) => {
    const key = k.toLowerCase();
    if (key.startsWith(':')) return; // :method, :path, :authority are the attributes above
    (headers[key] ??= []).push(v);
  };
  const raw = http.header_map?.headers;
  if (raw && raw.length > 0) for (const h of raw) add(h.key ?? '', h.value || (h.raw_value ? Buffer.from(h.raw_value).toString('utf8') : ''));
  else for (const [k, v] of Object.entries(http.headers ?? {})) add(k, v);
  const bytes = http.raw_body && http.raw_body.length > 0 ? Buffer.from(http.raw_body) : http.body ? Buffer.from(http.body, 'utf8') : null;
  const declared = headers['content-length']?.[0];
  const partial = headers['x-envoy-auth-partial-body']?.[0] === 'true';
  const body = bytes || declared === '0' ? { bytes: bytes ?? Buffer.alloc(0), complete: !partial && (declared === undefined || Number(declared) === (bytes?.length ?? 0)) } : null;
  const cert = attrs?.source?.certificate;
  return {
    via: 'ext_authz_grpc',
    method: http.method,
    path: http.path,
    headers,
    body,
    sourceIp,
    // Without a client trust bundle (mTLS off) a forwarded certificate means nothing, as on the listener.
    ...(cert && verifyPeer ? { peer: verifyPeer(cert) } : {}),
  };
}

export function checkResponseOf(o: CheckOutcome): Record<string, unknown> {
  if (o.allow) {
    const a = allowed(o);
    return {
      status: { code: RPC.OK, message: '' },
      ok_response: {
        headers: Object.entries(a.upstream).map(([k, v]) => header(k, v)),
        headers_to_remove: [...HEADERS_TO_REMOVE],
        response_headers_to_add: Object.entries(a.client).map(([k, v]) => header(k, v)),
      },
    };
  }
  const d = denied(o);
  return {
    status: { code: rpcCodeFor(d.status), message: `${o.error.code}: ${o.error.message}` },
    denied_response: { status: { code: d.status }, headers: Object.entries(d.headers).map(([k, v]) => header(k, v)), body: d.body },
  };
}

export function loadAuthorizationService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { auth: { v3: { Authorization: { service: grpc.ServiceDefinition } } } } } };
  return pkg.envoy.service.auth.v3.Authorization.service;
}

export async function startExtAuthzGrpc(o: ExtAuthzServerOptions, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server();
  server.addService(loadAuthorizationService(), {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      // Only the mesh's proxies ask: a forwarded certificate or source address is their word.
      if (!clientAllowed(call.getAuthContext().sslPeerCertificate, o.allowedClients)) {
        return callback({ code: grpc.status.PERMISSION_DENIED, details: 'this client certificate may not ask for ext_authz checks (extAuthz.allowedClients)' });
      }
      let x: ExternalCheck;
      try {
        x = externalCheckOf(call.request, o.verifyPeer);
      } catch (e) {
        if (!(e instanceof MalformedCheck)) throw e;
        o.log.warn({ err: e.message }, 'malformed ext_authz CheckRequest');
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: `malformed CheckRequest: ${e.message}` });
      }
      o.check(x).then(
        (outcome) => callback(null, checkResponseOf(outcome)),
        (e: unknown) => {
          o.log.error({ err: e }, 'ext_authz check failed');
          callback({ code: grpc.status.INTERNAL, details: 'the check could not be decided' });
        },
      );
    },
  });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(o.tls.clientCaPem), [{ cert_chain: Buffer.from(o.tls.certPem), private_key: Buffer.from(o.tls.keyPem) }], true);
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, creds, (e, p) => (e ? reject(e) : resolve(p))));
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Checks are short; one that has not answered in a second is cut.
        setTimeout(() => server.forceShutdown(), 1_000).unref();
      }),
  };
}
