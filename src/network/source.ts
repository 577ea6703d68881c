// Source address allowlists (per principal), matched with node's BlockList.
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
