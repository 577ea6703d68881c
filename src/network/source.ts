// Source address allowlists (per principal), matched with node's BlockList; and the client address of a
// request, which is the peer's unless the peer is a trusted proxy (then X-Forwarded-For says who called).
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { BadRequest, Forbidden } from '../core/errors.js';

const cache = new Map<string, BlockList>();

function normalize(ip: string): string {
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is the IPv4 address.
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function parseCidrs(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bitsText] = c.split('/');
    const family = isIP(addr ?? '');
    const bits = bitsText === undefined ? (family === 4 ? 32 : 128) : Number(bitsText);
    if (!family || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
      throw new BadRequest('invalid_cidr', `invalid CIDR ${JSON.stringify(c)}`, 'sourceCidrs');
    }
    list.addSubnet(addr!, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

export function checkSource(sourceIp: string | undefined, cidrs: string[] | undefined): void {
  if (!cidrs || cidrs.length === 0) return;
  const key = cidrs.join(',');
  let list = cache.get(key);
  if (!list) {
    list = parseCidrs(cidrs);
    cache.set(key, list);
  }
  const ip = sourceIp ? normalize(sourceIp) : '';
  const family = isIP(ip);
  if (!family || !list.check(ip, family === 4 ? 'ipv4' : 'ipv6')) {
    throw new Forbidden('source_not_allowed', 'requests from this source address are not allowed for this principal');
  }
}

const CLIENT = Symbol('warden.clientAddress');
type Annotated = IncomingMessage & { [CLIENT]?: string };

/** The request's client address: resolved by the listener (trusted proxies), else the TCP peer. */
export function clientAddress(req: IncomingMessage): string {
  return (req as Annotated)[CLIENT] ?? normalize(req.socket.remoteAddress ?? '');
}

/**
 * For a listener behind load balancers or reverse proxies (`trustedProxies`, CIDRs): when the peer is one of
 * them, the client is the right-most X-Forwarded-For address that is not itself a trusted proxy. A header
 * that does not parse leaves the peer as the client (never a guess). With no trusted proxies, a client's own
 * X-Forwarded-For is ignored: it could claim any address.
 */
export function createClientAddressResolver(trustedProxies: string[]): (req: IncomingMessage) => void {
  const trusted = trustedProxies.length ? parseCidrs(trustedProxies) : null;
  const isTrusted = (ip: string) => {
    const family = isIP(ip);
    return family !== 0 && trusted!.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    const peer = normalize(req.socket.remoteAddress ?? '');
    let client = peer;
    if (trusted && isTrusted(peer)) {
      const raw = req.headersDistinct['x-forwarded-for'];
      const hops = raw ? raw.join(',').split(',').map((h) => normalize(h.trim())) : [];
      if (hops.length && hops.every((h) => isIP(h) !== 0)) {
        client = hops[0]!;
        for (let i = hops.length - 1; i >= 0; i--) {
          if (!isTrusted(hops[i]!)) {
            client = hops[i]!;
            break;
          }
        }
      }
    }
    (req as Annotated)[CLIENT] = client;
  };
}
