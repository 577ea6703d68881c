// Declared egress destinations: origins a tool may reach, e.g. `https://api.example.com`,
// `https://*.example.com:8443`, `http://10.1.2.3:8080`. Scheme, host and port must all match; a
// wildcard stands for one or more labels left of a fixed suffix. An IP literal declares that exact
// address (the only way to reach a private one).
import { isIP } from 'node:net';
import { BadRequest } from '../core/errors.js';
import { EgressUrlInvalid } from './egress-errors.js';

export interface Destination {
  scheme: 'http:' | 'https:';
  /** Lower-case host; for a wildcard the suffix after `*.` */
  host: string;
  wildcard: boolean;
  port: number;
  /** The declared text, for messages and the ledger. */
  text: string;
}

const DEFAULT_PORT = { 'http:': 80, 'https:': 443 } as const;

/** WHATWG URL host of an IPv6 literal is bracketed; node:net wants it bare. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export function parseDestination(text: string, field = 'egress'): Destination {
  const wildcard = /^(https?):\/\/\*\./i.exec(text);
  let url: URL;
  try {
    url = new URL(wildcard ? text.replace('*.', 'wildcard.') : text);
  } catch {
    throw new BadRequest('invalid_egress_destination', `${field}: ${JSON.stringify(text)} is not an origin like https://api.example.com`, field);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadRequest('invalid_egress_destination', `${field}: only http and https destinations can be declared`, field);
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new BadRequest('invalid_egress_destination', `${field}: ${JSON.stringify(text)} must be an origin (scheme://host[:port]) without path, query or credentials`, field);
  }
  const host = bareHost(url.hostname.toLowerCase());
  if (wildcard && isIP(host.slice('wildcard.'.length))) throw new BadRequest('invalid_egress_destination', `${field}: a wildcard cannot cover IP addresses`, field);
  const scheme = url.protocol;
  return {
    scheme,
    host: wildcard ? host.slice('wildcard.'.length) : host,
    wildcard: wildcard !== null,
    port: url.port ? Number(url.port) : DEFAULT_PORT[scheme],
    text,
  };
}

export interface Target {
  url: URL;
  scheme: 'http:' | 'https:';
  host: string;
  port: number;
  origin: string;
}

/** Parses an outbound URL; refuses anything but plain http(s) without credentials. */
export function parseTarget(raw: string | URL): Target {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : new URL(raw.href);
  } catch {
    throw new EgressUrlInvalid('the tool URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressUrlInvalid(`scheme ${url.protocol} is not allowed for tool egress`);
  // Credentials in a URL would travel to whoever the host is; a tool never needs them there.
  if (url.username || url.password) throw new EgressUrlInvalid('credentials in the URL are not allowed');
  const scheme = url.protocol;
  const host = bareHost(url.hostname.toLowerCase());
  // Only LDH names or IP literals: anything else (`*`, `%`, `_`) is not a host a resolver should see.
  if (isIP(host) === 0 && !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
    throw new EgressUrlInvalid('the tool URL host is not a valid hostname');
  }
  const port = url.port ? Number(url.port) : DEFAULT_PORT[scheme];
  return { url, scheme, host, port, origin: url.origin };
}

export function matches(d: Destination, t: Target): boolean {
  if (d.scheme !== t.scheme || d.port !== t.port) return false;
  if (!d.wildcard) return d.host === t.host;
  return t.host.endsWith('.' + d.host) && t.host.length > d.host.length + 1;
}

export function findDestination(declared: readonly Destination[], t: Target): Destination | null {
  for (const d of declared) if (matches(d, t)) return d;
  return null;
}
