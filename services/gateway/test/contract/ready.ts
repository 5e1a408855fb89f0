/** Resolve once `ready()` is true, checking again on every health change (no polling). */
export function untilReady(
  target: { ready(): boolean; onHealthChange(listener: () => void): void },
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (target.ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} to be ready`)), timeoutMs);
    target.onHealthChange(() => {
      if (!target.ready()) return;
      clearTimeout(timer);
      resolve();
    });
  });
}
