/** What the page needs of a Storage (sessionStorage and localStorage have it; tests give a Map). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The page's storages, as globals (not typed by the DOM's lib: the tests that import this run in Node). */
const page = globalThis as { readonly sessionStorage?: KeyValueStore; readonly localStorage?: KeyValueStore };

/** This tab's sessionStorage (per tab, gone with it), or undefined where storage is off (reading it may throw). */
export function tabStorage(): KeyValueStore | undefined {
  try {
    return page.sessionStorage;
  } catch {
    return undefined;
  }
}

/** This browser's localStorage (shared by its tabs), or undefined where storage is off. */
export function browserStorage(): KeyValueStore | undefined {
  try {
    return page.localStorage;
  } catch {
    return undefined;
  }
}
