// Which IP addresses an outbound tool call may reach without being declared by IP. SSRF defence:
// a hostname that resolves into a private, loopback, link-local, metadata or otherwise special range
// is refused, so DNS cannot point a declared name at an internal service (RFC 6890 special-purpose
// registries; cloud metadata endpoints listed explicitly).
import { BlockList, isIP } from 'node:net';

const SPECIAL_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network" (RFC 791)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space / CGNAT (RFC 6598); holds Alibaba's metadata 100.100.100.200
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (RFC 3927): AWS/GCP/Azure metadata 169.254.169.254, ECS 169.254.170.2
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (Oracle metadata 192.0.0.192)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

const SPECIAL_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, ...)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address we would have to re-check
  ['fc00::', 7], // unique local (fd00:ec2::254 is AWS's IPv6 metadata endpoint)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const special = new BlockList();
for (const [a, p] of SPECIAL_V4) special.addSubnet(a, p, 'ipv4');
for (const [a, p] of SPECIAL_V6) special.addSubnet(a, p, 'ipv6');

/** IPv4 carried inside an IPv6 address (v4-mapped ::ffff:a.b.c.d, v4-compatible, NAT64 64:ff9b::/96). */
function embeddedV4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True when the address is public unicast: reachable by a tool only if it is not special in any way. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false; // not an address at all: refuse
  if (family === 6) {
    const v4 = embeddedV4(address);
    if (v4 !== null) return isPublicAddress(v4);
    return !special.check(address, 'ipv6');
  }
  return !special.check(address, 'ipv4');
}
