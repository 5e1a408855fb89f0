/** How many hash slots a Redis Cluster has. */
export const SLOT_COUNT = 16_384;

/** CRC16-CCITT (XMODEM), as Redis Cluster hashes keys: polynomial 0x1021, initial 0. */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/**
 * The hash slot of a key (or a sharded channel), as Redis Cluster computes it
 * (CLUSTER KEYSLOT): CRC16 of the key's hash tag, the part between the first `{`
 * and the next `}` when that is not empty, else of the whole key, modulo 16384.
 */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(hashed, 'utf8')) % SLOT_COUNT;
}
