// A client certificate that a mesh proxy verified at its own TLS handshake and forwards to Warden (Envoy
// ext_authz `attributes.source.certificate`, or the `Cert=` element of X-Forwarded-Client-Cert): URL-encoded
// PEM. The proxy is trusted to have seen the client prove its key (it is an authenticated ext_authz client);
// it is not trusted to choose the CA, so the certificate is checked against Warden's own client trust bundle
// and validity window before the identity stage maps it to a principal. Envoy forwards the leaf only, so the
// leaf must be issued by a certificate of the bundle.
import { X509Certificate } from 'node:crypto';

export type ForwardedCertificate = { der: Uint8Array } | { invalid: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
}

export function createForwardedCertificateVerifier(trustBundlePem: string): (urlEncodedPem: string, nowMs: number) => ForwardedCertificate {
  const anchors = certificates(trustBundlePem).filter((c) => c.ca);
  if (anchors.length === 0) throw new RangeError('the client trust bundle holds no CA certificate');
  return (encoded, nowMs) => {
    let leaf: X509Certificate;
    try {
      const pem = decodeURIComponent(encoded);
      const first = certificates(pem)[0];
      if (!first) return { invalid: 'forwarded_certificate_malformed' };
      leaf = first;
    } catch {
      return { invalid: 'forwarded_certificate_malformed' };
    }
    if (nowMs < Date.parse(leaf.validFrom)) return { invalid: 'cert_not_yet_valid' };
    if (nowMs > Date.parse(leaf.validTo)) return { invalid: 'cert_has_expired' };
    if (!anchors.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) return { invalid: 'unable_to_verify_leaf_signature' };
    return { der: new Uint8Array(leaf.raw) };
  };
}
