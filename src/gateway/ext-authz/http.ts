// Envoy's HTTP external authorization variant: Envoy sends the client's request (method, `pathPrefix` + path,
// the allowed headers, the buffered body) here, and takes a 200 as allow (copying the allowed headers to the
// upstream request and the client's response) and anything else as the refusal to send the client. The
// decision is the gateway's (Gateway.check), the same as the gRPC variant's.
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WardenError } from '../../core/errors.js';
import { readBody } from '../../http/body.js';
import { sendError } from '../../http/respond.js';
import { listenerTlsOptions } from '../../network/tls.js';
import { clientAddress, createClientAddressResolver } from '../../network/source.js';
import { newRequestId } from '../../core/ids.js';
import type { ExternalCheck } from '../external-check.js';
import { allowed, clientAllowed, denied, HEADERS_TO_REMOVE } from './answer.js';
import type { ExtAuthzServerOptions } from './grpc.js';

/** The `Cert=` element of the nearest X-Forwarded-Client-Cert entry (Envoy: forward_client_cert_details). */
export function xfccCertificate(values: string[] | undefined): string | undefined {
  if (!values || values.length === 0) return undefined;
  const entries = values.join(',').split(',');
  const last = entries[entries.length - 1]!;
  const m = /(?:^|;)\s*Cert="?([^";]+)"?/i.exec(last);
  return m?.[1];
}

export interface HttpExtAuthzOptions extends ExtAuthzServerOptions {
  pathPrefix: string;
  trustedProxies: string[];
  maxBodyBytes: number;
}

export async function startExtAuthzHttp(o: HttpExtAuthzOptions, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const resolve = o.trustedProxies.length ? createClientAddressResolver(o.trustedProxies) : null;
  const server = createHttpsServer({ ...listenerTlsOptions({ certPem: o.tls.certPem, keyPem: o.tls.keyPem, mtls: 'required', clientCaPem: o.tls.clientCaPem }) });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (!clientAllowed((req.socket as TLSSocket).getPeerCertificate(), o.allowedClients)) {
      throw new WardenError(403, 'permission_error', 'ext_authz_client_not_allowed', 'this client certificate may not ask for ext_authz checks (extAuthz.allowedClients)');
    }
    if (!url.startsWith(o.pathPrefix + '/')) throw new WardenError(404, 'not_found_error', 'route_not_found', `ext_authz checks are sent under ${o.pathPrefix}/ (Envoy http_service.path_prefix)`);
    resolve?.(req);
    const bytes = await readBody(req, o.maxBodyBytes);
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(req.headersDistinct)) if (v && k !== 'host' && k !== 'content-length' && k !== 'x-forwarded-client-cert') headers[k] = v;
    const cert = xfccCertificate(req.headersDistinct['x-forwarded-client-cert']);
    const x: ExternalCheck = {
      via: 'ext_authz_http',
      method: req.method ?? 'GET',
      path: url.slice(o.pathPrefix.length),
      headers,
      body: bytes.length > 0 ? { bytes, complete: req.headers['x-envoy-auth-partial-body'] !== 'true' } : null,
      sourceIp: clientAddress(req),
      ...(cert && o.verifyPeer ? { peer: o.verifyPeer(cert) } : {}),
    };
    const outcome = await o.check(x);
    if (outcome.allow) {
      const a = allowed(outcome);
      res.writeHead(200, { ...a.upstream, ...a.client, 'x-envoy-auth-headers-to-remove': HEADERS_TO_REMOVE.join(', '), 'content-length': 0 });
      res.end();
      return;
    }
    const d = denied(outcome);
    res.writeHead(d.status, { ...d.headers, 'content-length': Buffer.byteLength(d.body) });
    res.end(d.body);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) o.log.error({ err: e }, 'ext_authz HTTP check failed');
      if (!res.headersSent) res.setHeader('warden-deny-reason', err.code);
      sendError(res, err, newRequestId(), err.status === 413);
    });
  });
  const bound = await new Promise<number>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok((server.address() as AddressInfo).port));
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
