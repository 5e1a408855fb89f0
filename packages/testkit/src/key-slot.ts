/** Redis Cluster's slot count. */
export const CLUSTER_SLOTS = 16384;

/**
 * The Redis Cluster slot of `key`, as Redis computes it: CRC16 (XMODEM) of the
 * key, or of its hash tag (the part between the first `{` and the next `}`, if
 * not empty), modulo 16384.
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  if (open >= 0) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  return crc16(bytes) % CLUSTER_SLOTS;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
