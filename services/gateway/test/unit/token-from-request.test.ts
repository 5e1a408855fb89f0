import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { redactedUrl, tokenFromRequest } from '../../src/auth/token-from-request.js';

const req = (url: string, authorization?: string) =>
  Object.assign(Object.create(null) as IncomingMessage, { url, headers: authorization ? { authorization } : {} });

describe('tokenFromRequest', () => {
  it('reads Authorization: Bearer first, then the token query parameter', () => {
    assert.equal(tokenFromRequest(req('/ws?token=from-query', 'Bearer from-header')), 'from-header');
    assert.equal(tokenFromRequest(req('/ws?x=1&token=from-query')), 'from-query');
    assert.equal(tokenFromRequest(req('/ws')), undefined);
    assert.equal(tokenFromRequest(req('/ws?token=')), undefined);
    assert.equal(tokenFromRequest(req('/ws', 'Basic abc')), undefined);
  });

  it('redacts the query string of a URL to be logged', () => {
    assert.equal(redactedUrl('/ws?token=secret'), '/ws?[redacted]');
    assert.equal(redactedUrl('/metrics'), '/metrics');
  });
});
