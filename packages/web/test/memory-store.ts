import type { KeyValueStore } from '../src/storage.js';

/** sessionStorage's behaviour, in a Map; `full` makes every write throw as a full store does. */
export function memoryStore(): KeyValueStore & { data: Map<string, string>; full: boolean } {
  const data = new Map<string, string>();
  return {
    data,
    full: false,
    getItem: (key) => data.get(key) ?? null,
    setItem(key, value) {
      if (this.full) throw new Error('QuotaExceededError');
      data.set(key, value);
    },
    removeItem: (key) => void data.delete(key),
  };
}
