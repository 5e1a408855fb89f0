/**
 * Protocol v2: a client's `ref` on a frame, attached only when there is one, so
 * frames without it carry no `"ref": undefined` (and JSON has no `ref` key):
 * `{ type: 'ack', ...withRef(ref) }`.
 */
export function withRef(ref: string | undefined): { readonly ref?: string } {
  return ref === undefined ? {} : { ref };
}
