// TLS contexts for the listeners: TLS 1.3 only (a TLS 1.2 client is refused at the handshake).
import type { SecureContextOptions, TlsOptions } from 'node:tls';

export type MtlsMode = 'off' | 'optional' | 'required';

export interface ListenerTlsOptions {
  certPem: string;
  keyPem: string;
  mtls: MtlsMode;
  /** PEM trust bundle for client certificates (required when mtls != off). */
  clientCaPem?: string;
}

export function listenerTlsOptions(o: ListenerTlsOptions): TlsOptions & SecureContextOptions {
  if (o.mtls !== 'off' && !o.clientCaPem) throw new Error('mTLS is enabled but no client CA trust bundle is configured');
  return {
    cert: o.certPem,
    key: o.keyPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: o.mtls !== 'off',
    // With `optional`, an unverified client certificate is not fatal at the handshake; the identity stage
    // refuses any request that presented one that did not verify (fail closed, with a clear 401).
    rejectUnauthorized: o.mtls === 'required',
    ...(o.clientCaPem ? { ca: o.clientCaPem } : {}),
  };
}
