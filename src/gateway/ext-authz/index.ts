// Starts the Envoy ext_authz servers configured in extAuthz (gRPC and/or HTTP). Both require a client
// certificate from extAuthz.clientCaFile: a check carries the client's address and certificate as the mesh
// reports them, so only the mesh's proxies may ask (docs/deploy.md "Envoy external authorization").
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ExtAuthzConfig } from '../../config/config.js';
import { ConfigError } from '../../config/config.js';
import { createForwardedCertificateVerifier } from '../../identity/mtls/forwarded-cert.js';
import type { CheckOutcome, ExternalCheck } from '../external-check.js';
import { startExtAuthzGrpc } from './grpc.js';
import { startExtAuthzHttp } from './http.js';

export interface ExtAuthzDeps {
  check(x: ExternalCheck): Promise<CheckOutcome>;
  /** The server certificate (extAuthz.tls, else the inference listener's). */
  serverTls: { certPem: string; keyPem: string };
  /** The inference listener's client trust bundle when it does mTLS: forwarded certificates are checked against it. */
  inferenceClientCaPem?: string;
  maxBodyBytes: number;
  now(): number;
  log: Logger;
}

export interface RunningExtAuthz {
  grpcPort?: number;
  httpPort?: number;
  close(): Promise<void>;
}

export async function startExtAuthz(cfg: ExtAuthzConfig, d: ExtAuthzDeps): Promise<RunningExtAuthz> {
  let clientCaPem: string;
  try {
    clientCaPem = readFileSync(cfg.clientCaFile, 'utf8');
  } catch (e) {
    throw new ConfigError(`extAuthz.clientCaFile: cannot read ${cfg.clientCaFile}: ${(e as Error).message}`);
  }
  const forwarded = d.inferenceClientCaPem ? createForwardedCertificateVerifier(d.inferenceClientCaPem) : null;
  const base = {
    check: d.check,
    ...(forwarded ? { verifyPeer: (pem: string) => forwarded(pem, d.now()) } : {}),
    allowedClients: cfg.allowedClients,
    tls: { ...d.serverTls, clientCaPem },
    log: d.log,
  };
  const closers: (() => Promise<void>)[] = [];
  const running: RunningExtAuthz = { close: async () => void (await Promise.all(closers.map((c) => c()))) };
  try {
    if (cfg.grpc) {
      const g = await startExtAuthzGrpc(base, cfg.grpc.host, cfg.grpc.port);
      closers.push(g.close);
      running.grpcPort = g.port;
    }
    if (cfg.http) {
      const h = await startExtAuthzHttp({ ...base, pathPrefix: cfg.http.pathPrefix, trustedProxies: cfg.http.trustedProxies, maxBodyBytes: d.maxBodyBytes }, cfg.http.host, cfg.http.port);
      closers.push(h.close);
      running.httpPort = h.port;
    }
  } catch (e) {
    await running.close();
    throw e;
  }
  d.log.info({ grpcPort: running.grpcPort, httpPort: running.httpPort }, 'Envoy ext_authz serving');
  return running;
}
