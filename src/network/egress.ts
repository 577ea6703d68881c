// The egress guard: the only way the tools plane sends a request out. SSRF-safe by construction:
// only declared destinations (scheme + host + port), hostnames resolved and every address checked
// (no private, loopback, link-local or metadata address unless declared by IP), the connection made
// to the address that was checked (no second lookup an attacker's DNS could answer differently),
// redirects followed by hand and only to declared destinations, response size and time bounded.
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';
import { WardenError } from '../core/errors.js';
import { findDestination, parseDestination, parseTarget, type Destination, type Target } from './egress-destinations.js';
import { isPublicAddress } from './egress-address.js';
import {
  EgressAddressForbidden,
  EgressConnectFailed,
  EgressDestinationNotDeclared,
  EgressRedirectRefused,
  EgressResponseTooLarge,
  EgressTimeout,
} from './egress-errors.js';

export interface EgressPolicy {
  /** Declared origins (see egress-destinations.ts). */
  destinations: readonly string[];
  maxResponseBytes: number;
  timeoutMs: number;
  /** Redirects followed (each to a declared destination); 0 refuses every redirect. */
  maxRedirects: number;
}

export interface EgressRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface EgressResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

export type Resolver = (host: string) => Promise<LookupAddress[]>;

export interface EgressGuardOptions {
  /** Name resolution; defaults to the system resolver (getaddrinfo, all addresses). Tests inject one. */
  resolve?: Resolver;
  /** Extra trust anchors for https backends (PEM). */
  ca?: string | string[];
  connections?: number;
}

const systemResolve: Resolver = (host) =>
  new Promise((ok, fail) => dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? fail(err) : ok(addrs))));

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Carries a typed refusal out through undici's connector, which wraps lookup errors. */
function unwrap(e: unknown): WardenError | null {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    if (cur instanceof WardenError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}

export class EgressGuard {
  private readonly resolve: Resolver;
  private readonly agent: Agent;

  constructor(opts: EgressGuardOptions = {}) {
    this.resolve = opts.resolve ?? systemResolve;
    // The connector asks this lookup for every hostname: the checked addresses are the ones dialled.
    const lookup = (hostname: string, _o: unknown, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      this.checkedAddresses(hostname).then(
        (addrs) => cb(null, addrs as LookupAddress[]),
        (err: Error) => cb(err, ''),
      );
    };
    this.agent = new Agent({
      connections: opts.connections ?? 64,
      connect: { lookup: ((h: string, o: unknown, cb: never) => lookup(h, o, cb)) as never, ...(opts.ca ? { ca: opts.ca } : {}) },
    });
  }

  /** Resolves a hostname and refuses it unless every address is public unicast. */
  private async checkedAddresses(host: string): Promise<LookupAddress[]> {
    let addrs: LookupAddress[];
    try {
      addrs = await this.resolve(host);
    } catch {
      throw new EgressConnectFailed(host);
    }
    if (addrs.length === 0) throw new EgressConnectFailed(host);
    // All must be public: a name with one public and one private address is a rebinding setup.
    for (const a of addrs) if (!isPublicAddress(a.address)) throw new EgressAddressForbidden(host, a.address);
    return addrs;
  }

  /** Checks a URL against the declared destinations; returns the parsed target. */
  check(url: string | URL, declared: readonly Destination[]): Target {
    const t = parseTarget(url);
    if (!findDestination(declared, t)) throw new EgressDestinationNotDeclared(t.origin);
    // An IP literal only matches a destination declared with that very address (wildcards cannot hold
    // IPs), so a declared private address is allowed; hostnames are checked at connect time.
    return t;
  }

  /** Resolves and checks a declared hostname before any byte is sent (also done again at connect). */
  async preflight(t: Target): Promise<void> {
    if (isIP(t.host) === 0) await this.checkedAddresses(t.host);
  }

  async request(url: string, req: EgressRequest, policy: EgressPolicy): Promise<EgressResponse> {
    const declared = policy.destinations.map((d) => parseDestination(d));
    let target = this.check(url, declared);
    let method = req.method;
    let body = req.body;
    let headers = { ...(req.headers ?? {}) };
    const signal = AbortSignal.timeout(policy.timeoutMs);
    for (let hop = 0; ; hop++) {
      await this.preflight(target);
      let r: Dispatcher.ResponseData;
      try {
        r = await request(target.url, {
          method,
          headers,
          dispatcher: this.agent,
          signal,
          headersTimeout: policy.timeoutMs,
          bodyTimeout: policy.timeoutMs,
          ...(body !== undefined ? { body } : {}),
        });
      } catch (e) {
        throw this.translate(e, signal, policy, target);
      }
      if (REDIRECTS.has(r.statusCode)) {
        await r.body.dump().catch(() => undefined);
        const loc = r.headers.location;
        if (typeof loc !== 'string') throw new EgressRedirectRefused('the tool backend redirected without a Location');
        if (hop >= policy.maxRedirects) throw new EgressRedirectRefused(`the tool backend redirected more than ${policy.maxRedirects} time(s)`);
        let next: Target;
        try {
          next = this.check(new URL(loc, target.url), declared);
        } catch (e) {
          if (e instanceof EgressDestinationNotDeclared) throw new EgressRedirectRefused(`the tool backend redirected to ${e.destination}, which is not a declared destination`);
          throw e;
        }
        // The per-call credential is bound to one backend: it never follows a redirect to another origin.
        if (next.origin !== target.origin) {
          const { authorization: _drop, ...rest } = headers;
          headers = rest;
        }
        if (r.statusCode === 303 || ((r.statusCode === 301 || r.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        target = next;
        continue;
      }
      const buf = await this.readLimited(r, policy, signal, target);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
      return { status: r.statusCode, headers: out, body: buf, url: target.url.href };
    }
  }

  private async readLimited(r: Dispatcher.ResponseData, policy: EgressPolicy, signal: AbortSignal, target: Target): Promise<Buffer> {
    const declared = Number(r.headers['content-length']);
    const discard = () => {
      r.body.on('error', () => undefined); // the abort we cause is not news
      r.body.destroy();
    };
    if (Number.isFinite(declared) && declared > policy.maxResponseBytes) {
      discard();
      throw new EgressResponseTooLarge(policy.maxResponseBytes);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of r.body) {
        size += (c as Buffer).length;
        if (size > policy.maxResponseBytes) {
          discard();
          throw new EgressResponseTooLarge(policy.maxResponseBytes);
        }
        chunks.push(c as Buffer);
      }
    } catch (e) {
      throw this.translate(e, signal, policy, target);
    }
    return Buffer.concat(chunks, size);
  }

  private translate(e: unknown, signal: AbortSignal, policy: EgressPolicy, target: Target): WardenError {
    const typed = unwrap(e);
    if (typed) return typed;
    const code = (e as { code?: string }).code ?? '';
    if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new EgressTimeout(policy.timeoutMs);
    return new EgressConnectFailed(target.origin);
  }

  /**
   * A WHATWG fetch for clients that bring their own HTTP logic (the MCP SDK): same destination and
   * address checks, no redirects at all, response bodies cut at the size limit, one overall timeout.
   */
  fetchFor(policy: EgressPolicy): (input: string | URL, init?: RequestInit) => Promise<Response> {
    const declared = policy.destinations.map((d) => parseDestination(d));
    return async (input, init = {}) => {
      const target = this.check(typeof input === 'string' ? input : input.href, declared);
      await this.preflight(target);
      const timeout = AbortSignal.timeout(policy.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = (await undiciFetch(target.url, { ...(init as object), signal, redirect: 'manual', dispatcher: this.agent } as never)) as unknown as Response;
      } catch (e) {
        throw this.translate(e, timeout, policy, target);
      }
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => undefined);
        throw new EgressRedirectRefused('the MCP server answered with a redirect; tool backends may not redirect');
      }
      if (!res.body) return res;
      let size = 0;
      const limit = policy.maxResponseBytes;
      const limited = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            size += chunk.byteLength;
            if (size > limit) ctl.error(new EgressResponseTooLarge(limit));
            else ctl.enqueue(chunk);
          },
        }),
      );
      return new Response(limited, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
