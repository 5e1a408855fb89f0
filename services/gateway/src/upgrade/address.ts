import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { kind, list, type Kind } from '@switchboard/config';

/** An IP address as text, IPv4 dotted or IPv6 (IPv4-mapped IPv6 addresses are written as IPv4). */
export type IpAddress = string;

/**
 * A set of addresses and networks (`10.0.0.0/8`, `::1`, `fd00::/8`), IPv4 and
 * IPv6 alike: the proxies whose `X-Forwarded-For` is believed.
 */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(ranges: readonly string[]) {
    for (const range of ranges) {
      const parsed = parseRange(range);
      if (!parsed) throw new TypeError(`not an address or network: ${range}`);
      const type = isIP(parsed.address) === 4 ? 'ipv4' : 'ipv6';
      if (parsed.prefix === undefined) this.list.addAddress(parsed.address, type);
      else this.list.addSubnet(parsed.address, parsed.prefix, type);
    }
    this.size = ranges.length;
  }

  has(address: IpAddress): boolean {
    const version = isIP(address);
    return version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The settings' kind of TRUSTED_PROXIES: a comma-separated list of addresses and networks. */
export function addressRanges(): Kind<string[]> {
  const range = kind('an IPv4 or IPv6 address or network (10.0.0.0/8, ::1, fd00::/8)', (error) =>
    z
      .string()
      .trim()
      .refine((value) => parseRange(value) !== undefined, { error }),
  );
  return list(range);
}

/**
 * An address as a peer or a proxy reports it, made comparable: IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`, what a dual-stack socket reports) becomes IPv4, an IPv6
 * zone (`%eth0`) and a port (`10.0.0.1:5000`, `[::1]:5000`) are dropped.
 * Undefined when the text is not an IP address.
 */
export function normalizeAddress(text: string): IpAddress | undefined {
  let address = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 0) return undefined;
  if (version === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return mapped[1]!;
    return address.toLowerCase();
  }
  return address;
}

/**
 * The key the per-address limits count by: an IPv4 address itself, an IPv6
 * address by its /64 network (one subscriber usually holds a whole /64, so
 * counting single IPv6 addresses would limit nobody).
 */
export function addressKey(address: IpAddress): string {
  if (isIP(address) !== 6) return address;
  const groups = ipv6Groups(address);
  return groups
    ? `${groups
        .slice(0, 4)
        .map((g) => g.toString(16))
        .join(':')}::/64`
    : address;
}

/** `address` or `address/prefix`, the address valid and the prefix within its length. */
function parseRange(text: string): { address: IpAddress; prefix?: number } | undefined {
  const [rawAddress, rawPrefix, ...rest] = text.trim().split('/');
  if (rest.length > 0 || rawAddress === undefined) return undefined;
  if (isIP(rawAddress) === 0 || rawAddress.includes('%')) return undefined;
  const address = normalizeAddress(rawAddress)!;
  if (rawPrefix === undefined) return { address };
  if (!/^\d{1,3}$/.test(rawPrefix)) return undefined;
  // A mapped IPv4 network keeps its meaning once written as IPv4: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
  const shift = isIP(address) === 4 && isIP(rawAddress) === 6 ? 96 : 0;
  const prefix = Number(rawPrefix) - shift;
  const bits = isIP(address) === 4 ? 32 : 128;
  return prefix >= 0 && prefix <= bits ? { address, prefix } : undefined;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail included), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const v4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4Tail) {
    const [a, b, c, d] = v4Tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
