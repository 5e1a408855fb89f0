import { normalizeAddress, type AddressSet, type IpAddress } from './address.js';

/** What the address of a peer that reports none (its socket already gone) is counted as. */
export const UNKNOWN_ADDRESS = 'unknown';

/**
 * The client's address: the TCP peer's, unless the peer is a trusted proxy; then
 * `X-Forwarded-For` is read from the right (each proxy appends the address it
 * saw) and the first address that is not itself a trusted proxy is the client.
 * Anything left of it was written by the client and is never believed. If every
 * hop is trusted, the left-most is the client; if a hop is not an address, the
 * nearest trusted hop before it is.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: AddressSet,
): IpAddress {
  let address = (peer === undefined ? undefined : normalizeAddress(peer)) ?? UNKNOWN_ADDRESS;
  if (trusted.size === 0 || !trusted.has(address) || forwardedFor === undefined) return address;
  const hops = (typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor).flatMap((header) => header.split(','));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (hop === undefined) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}
