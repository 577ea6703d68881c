// The example Envoy configurations in deploy/envoy. Envoy is not installable here (no package, no network),
// so they are not run: this test holds them to the settings that keep a mesh fail-closed in front of Warden
// and in step with what Warden's ext_authz servers expect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const load = (f: string) => parse(readFileSync(root + f, 'utf8')) as any;

test('deploy/envoy/envoy.yaml: gRPC ext_authz fails closed, sends the whole body and the peer certificate, over mutual TLS', () => {
  const cfg = load('deploy/envoy/envoy.yaml');
  const hcm = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  assert.equal(hcm.use_remote_address, true);
  const filters = hcm.http_filters.map((f: { name: string }) => f.name);
  assert.deepEqual(filters, ['envoy.filters.http.ext_authz', 'envoy.filters.http.router'], 'ext_authz runs before the router');
  const authz = hcm.http_filters[0].typed_config;
  assert.equal(authz.transport_api_version, 'V3');
  assert.equal(authz.failure_mode_allow, false);
  assert.equal(authz.with_request_body.allow_partial_message, false);
  assert.equal(authz.include_peer_certificate, true);
  const cluster = cfg.static_resources.clusters.find((c: { name: string }) => c.name === authz.grpc_service.envoy_grpc.cluster_name);
  assert.ok(cluster, 'the ext_authz cluster exists');
  const tls = cluster.transport_socket.typed_config.common_tls_context;
  assert.ok(tls.tls_certificates[0].certificate_chain.filename, 'Envoy presents a client certificate');
  assert.ok(tls.validation_context.trusted_ca.filename, 'Envoy checks Warden\'s certificate');
  assert.ok(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options, 'gRPC needs HTTP/2');
});

test('deploy/envoy/envoy-http-ext-authz.yaml: HTTP ext_authz fails closed and copies the headers Warden answers with', () => {
  const f = load('deploy/envoy/envoy-http-ext-authz.yaml').typed_config;
  assert.equal(f.failure_mode_allow, false);
  assert.equal(f.with_request_body.allow_partial_message, false);
  assert.equal(f.http_service.path_prefix, '/ext_authz', 'the default extAuthz.http.pathPrefix');
  const names = (p: { exact: string }[]) => p.map((x) => x.exact);
  assert.ok(names(f.http_service.authorization_request.allowed_headers.patterns).includes('authorization'));
  assert.ok(names(f.http_service.authorization_response.allowed_client_headers_on_success.patterns).includes('warden-receipt'));
  assert.ok(names(f.http_service.authorization_response.allowed_client_headers.patterns).includes('warden-deny-reason'));
});
