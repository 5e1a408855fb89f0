import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeFailure, dialFailure } from '../src/dial-failure.js';

const URL = 'wss://chat.example.invalid/ws';
const error = (code: string | undefined, message: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('why a connection could not be made, in words', () => {
  it('names network failures, DNS included', () => {
    assert.equal(dialFailure(error('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), URL), 'connection refused');
    assert.equal(
      dialFailure(error('ENOTFOUND', 'getaddrinfo ENOTFOUND chat.example.invalid'), URL),
      'host chat.example.invalid not found (DNS)',
    );
    assert.equal(dialFailure(error('EAI_AGAIN', 'getaddrinfo EAI_AGAIN chat.example.invalid'), URL), 'DNS lookup failed (try again later)');
    assert.equal(dialFailure(error('ETIMEDOUT', 'connect ETIMEDOUT'), URL), 'connection timed out');
    assert.equal(dialFailure(error('EHOSTUNREACH', 'connect EHOSTUNREACH'), URL), 'host unreachable');
  });

  it('reads the first cause of an AggregateError (every address of a name refused)', () => {
    const all = Object.assign(new AggregateError([error('ECONNREFUSED', 'connect ECONNREFUSED ::1:9')], ''), { code: 'ECONNREFUSED' });
    assert.equal(dialFailure(all, URL), 'connection refused');
    const uncoded = new AggregateError([error('ECONNREFUSED', 'connect ECONNREFUSED ::1:9')], '');
    assert.equal(dialFailure(uncoded, URL), 'connection refused');
  });

  it('says TLS, and how to trust an authority when the certificate is not trusted', () => {
    assert.equal(
      dialFailure(error('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), URL),
      'TLS: unable to verify the first certificate (--ca FILE trusts its authority)',
    );
    assert.equal(dialFailure(error('CERT_HAS_EXPIRED', 'certificate has expired'), URL), 'TLS: certificate has expired');
    assert.equal(
      dialFailure(error('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), URL),
      "TLS: Hostname/IP does not match certificate's altnames",
    );
    assert.equal(dialFailure(error('EPROTO', 'wrong version number'), URL), 'TLS: wrong version number');
  });

  it('names the HTTP status an upgrade was answered with', () => {
    assert.equal(dialFailure(error(undefined, 'Unexpected server response: 429'), URL), 'HTTP 429 Too Many Requests on upgrade');
    assert.equal(dialFailure(error(undefined, 'Unexpected server response: 503'), URL), 'HTTP 503 Service Unavailable on upgrade');
    assert.equal(dialFailure(error(undefined, 'Unexpected server response: 599'), URL), 'HTTP 599 on upgrade');
  });

  it("falls back to the error's own words, and says how a connection that opened was closed", () => {
    assert.equal(dialFailure(error('EWHATEVER', 'something odd'), URL), 'something odd');
    assert.equal(dialFailure('a string', URL), 'a string');
    assert.equal(closeFailure({ code: 1006, reason: 'no welcome within 10000 ms', willReconnect: true }), 'no welcome within 10000 ms');
    assert.equal(
      closeFailure({ code: 1013, reason: 'try again later', willReconnect: true }),
      'closed by the server (1013: try again later)',
    );
    assert.equal(closeFailure({ code: 1006, reason: '', willReconnect: true }), 'closed by the server (1006)');
  });
});
