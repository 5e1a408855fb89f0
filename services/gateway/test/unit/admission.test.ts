import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressSet, addressKey, normalizeAddress } from '../../src/upgrade/address.js';
import { clientAddress } from '../../src/upgrade/client-address.js';
import { ConnectionLimiter, type LimitExceeded } from '../../src/upgrade/connection-limiter.js';
import { originAllowed } from '../../src/upgrade/origin.js';
import { loadConfig, type Config } from '../../src/config/gateway-config.js';

const LIMITS = { maxConnections: 1000, maxConnectionsPerIp: 1000, connectionRatePerIp: 10, connectionBurstPerIp: 20 };

/** Admit one connection from `key`: the limit it passes, or undefined when admitted (ending no held session). */
function refusal(limiter: ConnectionLimiter, key: string): LimitExceeded | undefined {
  const admitted = limiter.admit(key);
  if (!admitted.ok) return admitted.limit;
  assert.deepEqual(admitted.ended, [], 'no held session ended');
  return undefined;
}

function config(env: Record<string, string>): Config {
  return loadConfig([], env) as Config;
}

describe('client addresses', () => {
  it('writes IPv4-mapped IPv6 as IPv4 and drops ports and zones', () => {
    assert.equal(normalizeAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeAddress('10.1.2.3:5000'), '10.1.2.3');
    assert.equal(normalizeAddress('[2001:db8::1]:443'), '2001:db8::1');
    assert.equal(normalizeAddress(' 2001:DB8::1 '), '2001:db8::1');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(normalizeAddress('unknown'), undefined);
    assert.equal(normalizeAddress(''), undefined);
  });

  it('counts an IPv6 address by its /64, an IPv4 address by itself', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  });

  it('matches addresses and networks of both families', () => {
    const set = new AddressSet(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '::ffff:192.168.0.0/112']);
    for (const yes of ['127.0.0.1', '10.200.0.9', '::1', 'fd12::3', '192.168.4.4']) assert.ok(set.has(yes), yes);
    for (const no of ['127.0.0.2', '11.0.0.1', '::2', 'fe80::1', '192.169.0.1', 'unknown']) assert.ok(!set.has(no), no);
  });

  it('believes X-Forwarded-For only from a trusted proxy, and takes its right-most untrusted address', () => {
    const proxies = new AddressSet(['10.0.0.0/8']);
    // Not from a proxy: the peer, whatever the header says.
    assert.equal(clientAddress('203.0.113.9', '198.51.100.1', proxies), '203.0.113.9');
    // From the proxy: the address it appended; what the client wrote to its left is ignored.
    assert.equal(clientAddress('10.0.0.2', '6.6.6.6, 198.51.100.1', proxies), '198.51.100.1');
    assert.equal(clientAddress('::ffff:10.0.0.2', ['6.6.6.6', '198.51.100.1'], proxies), '198.51.100.1');
    // Through two trusted proxies.
    assert.equal(clientAddress('10.0.0.2', '198.51.100.1, 10.9.9.9', proxies), '198.51.100.1');
    // Every hop trusted: the left-most.
    assert.equal(clientAddress('10.0.0.2', '10.1.1.1, 10.9.9.9', proxies), '10.1.1.1');
    // A hop that is not an address: the nearest trusted hop.
    assert.equal(clientAddress('10.0.0.2', '198.51.100.1, garbage', proxies), '10.0.0.2');
    // No header: the proxy itself.
    assert.equal(clientAddress('10.0.0.2', undefined, proxies), '10.0.0.2');
    // Nobody trusted (the default): always the peer.
    assert.equal(clientAddress('10.0.0.2', '198.51.100.1', new AddressSet([])), '10.0.0.2');
  });
});

describe('origins', () => {
  it('accepts upgrades without an Origin: not a browser', () => {
    assert.ok(originAllowed(undefined, 'chat.example.com', undefined));
    assert.ok(originAllowed(undefined, 'chat.example.com', ['https://other.example']));
  });

  it('by default accepts only a page whose host[:port] is the Host', () => {
    assert.ok(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', undefined));
    assert.ok(originAllowed('https://Chat.Example.com', 'chat.example.com', undefined));
    assert.ok(originAllowed('https://chat.example.com', 'chat.example.com:443', undefined));
    assert.ok(originAllowed('http://[::1]:8080', '[::1]:8080', undefined));
    assert.ok(!originAllowed('http://127.0.0.1:8081', '127.0.0.1:8080', undefined));
    assert.ok(!originAllowed('https://evil.example', 'chat.example.com', undefined));
    assert.ok(!originAllowed('https://evil.example', 'evil.example/x', undefined));
    assert.ok(!originAllowed('null', 'chat.example.com', undefined));
    assert.ok(!originAllowed('https://chat.example.com', undefined, undefined));
  });

  it('with a list accepts exactly the origins listed, and with * any', () => {
    const listed = config({ ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:3000' }).allowedOrigins;
    assert.deepEqual(listed, ['https://chat.example.com', 'http://localhost:3000']);
    assert.ok(originAllowed('https://CHAT.example.com:443', 'gateway.internal', listed));
    assert.ok(originAllowed('http://localhost:3000', 'gateway.internal', listed));
    assert.ok(!originAllowed('http://localhost:3001', 'localhost:3001', listed), 'same origin is not implied by a list');
    assert.ok(originAllowed('https://anything.example', 'x', config({ ALLOWED_ORIGINS: '*' }).allowedOrigins));
    assert.ok(originAllowed('null', 'x', '*'));
  });

  it('refuses a setting that is not origins, naming it', () => {
    assert.throws(
      () => config({ ALLOWED_ORIGINS: 'https://chat.example.com/path' }),
      /ALLOWED_ORIGINS must be \* or a comma-separated list/,
    );
    assert.throws(() => config({ ALLOWED_ORIGINS: '*, https://a.example' }), /ALLOWED_ORIGINS/);
    assert.throws(() => config({ TRUSTED_PROXIES: '10.0.0.0/33' }), /TRUSTED_PROXIES must be a comma-separated list/);
    assert.throws(() => config({ TRUSTED_PROXIES: 'haproxy' }), /TRUSTED_PROXIES/);
  });
});

describe('ConnectionLimiter', () => {
  it('refuses past the node cap, then admits again once a connection ends', () => {
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnections: 2 });
    assert.equal(refusal(limiter, 'a'), undefined);
    assert.equal(refusal(limiter, 'b'), undefined);
    assert.equal(refusal(limiter, 'c'), 'node-full');
    limiter.release('a');
    assert.equal(refusal(limiter, 'c'), undefined);
    assert.equal(limiter.size, 2);
  });

  it('refuses past the per-address cap without counting against other addresses', () => {
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnectionsPerIp: 2 });
    assert.equal(refusal(limiter, 'a'), undefined);
    assert.equal(refusal(limiter, 'a'), undefined);
    assert.equal(refusal(limiter, 'a'), 'address-full');
    assert.equal(refusal(limiter, 'b'), undefined);
    limiter.release('a');
    assert.equal(refusal(limiter, 'a'), undefined);
  });

  it('lets an address open its burst at once, then at the rate', () => {
    let now = 0;
    const limiter = new ConnectionLimiter(LIMITS, () => now);
    for (let i = 0; i < 20; i++) assert.equal(refusal(limiter, 'a'), undefined, `connection ${i + 1} of the burst`);
    assert.equal(refusal(limiter, 'a'), 'address-rate');
    assert.equal(refusal(limiter, 'b'), undefined, 'another address has its own bucket');
    now += 100; // 10/s: one more token
    assert.equal(refusal(limiter, 'a'), undefined);
    assert.equal(refusal(limiter, 'a'), 'address-rate');
  });

  it('forgets an address once its bucket has refilled, and never tracks more than its cap', () => {
    let now = 0;
    const limiter = new ConnectionLimiter(LIMITS, () => now, 100);
    for (let i = 0; i < 1000; i++) {
      assert.equal(refusal(limiter, `addr-${i}`), undefined);
      limiter.release(`addr-${i}`);
      assert.ok(limiter.trackedAddresses <= 100);
    }
    now += 2_000; // burst 20 at 10/s: full after 2 s
    limiter.admit('late');
    assert.equal(limiter.trackedAddresses, 1);
    assert.equal(limiter.size, 1);
  });

  it('keeps counting a drained address that stays busy', () => {
    let now = 0;
    const limiter = new ConnectionLimiter(LIMITS, () => now, 2);
    for (let i = 0; i < 20; i++) refusal(limiter, 'busy');
    now += 50;
    assert.equal(refusal(limiter, 'busy'), 'address-rate');
    refusal(limiter, 'other');
    assert.equal(refusal(limiter, 'busy'), 'address-rate', 'still remembered: it was used after the other');
  });
});

describe('ConnectionLimiter: sessions waiting for a resume', () => {
  const session = (n: number) => ({ token: `token-${n}`, conn: `conn-${n}` });
  const ended = (limiter: ConnectionLimiter, key: string) => {
    const admitted = limiter.admit(key);
    assert.ok(admitted.ok, `admitted, not ${admitted.ok ? '' : admitted.limit}`);
    return admitted.ended.map((s) => s.token);
  };

  it('counts them against their address: at the cap, each new connection ends the oldest instead of being refused', () => {
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnectionsPerIp: 3 }, () => 0);
    for (let i = 1; i <= 3; i++) assert.deepEqual(ended(limiter, 'a'), []);
    for (let i = 1; i <= 3; i++) {
      limiter.release('a');
      assert.deepEqual(limiter.hold('a', session(i), 30_000), [], `session ${i} waits within the cap`);
    }
    assert.equal(limiter.heldBy('a'), 3);
    assert.deepEqual(ended(limiter, 'b'), [], 'another address counts on its own');
    assert.deepEqual(ended(limiter, 'a'), ['token-1']);
    assert.deepEqual(ended(limiter, 'a'), ['token-2']);
    assert.deepEqual(ended(limiter, 'a'), ['token-3']);
    assert.equal(limiter.heldBy('a'), 0);
    assert.equal(refusal(limiter, 'a'), 'address-full', 'with none left waiting: refused as before');
    assert.equal(limiter.size, 4, 'held sessions are not connections of the node');
  });

  it('admits below the cap without ending any, and ends none for an upgrade it refuses', () => {
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnectionsPerIp: 3, connectionBurstPerIp: 2, connectionRatePerIp: 1 }, () => 0);
    assert.deepEqual(ended(limiter, 'a'), []);
    limiter.release('a');
    assert.deepEqual(limiter.hold('a', session(1), 30_000), []);
    assert.deepEqual(ended(limiter, 'a'), [], 'one open and one waiting are below the cap of 3');
    assert.equal(refusal(limiter, 'a'), 'address-rate');
    assert.equal(limiter.heldBy('a'), 1, 'the refused upgrade ended nothing');
  });

  it('ends the oldest waiting session (this one, if it is the only one) when a drop would pass the cap', () => {
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnectionsPerIp: 2 }, () => 0);
    ended(limiter, 'a');
    ended(limiter, 'a');
    // Two open already (one came between a drop and its detach): the new waiting session is one too many.
    assert.deepEqual(
      limiter.hold('a', session(1), 30_000).map((s) => s.token),
      ['token-1'],
    );
    limiter.release('a');
    assert.deepEqual(limiter.hold('a', session(2), 30_000), []);
    limiter.release('a');
    assert.deepEqual(limiter.hold('a', session(3), 30_000), []);
    assert.deepEqual(ended(limiter, 'a'), ['token-2']);
    assert.deepEqual(
      limiter.hold('a', session(4), 30_000).map((s) => s.conn),
      ['conn-3'],
      'the one that waited longest goes, named by the connection that dropped',
    );
  });

  it('stops counting a session once it is resumed, held again, or its wait runs out', () => {
    let now = 0;
    const limiter = new ConnectionLimiter({ ...LIMITS, maxConnectionsPerIp: 2 }, () => now);
    limiter.hold('a', session(1), 1_000);
    limiter.hold('a', session(2), 5_000);
    limiter.hold('a', session(2), 5_000);
    assert.equal(limiter.heldBy('a'), 2, 'a session dropped again is counted once');
    limiter.unhold('token-2');
    assert.equal(limiter.heldBy('a'), 1);
    now = 1_000;
    assert.equal(limiter.heldBy('a'), 0, 'its wait ran out');
    assert.deepEqual(limiter.hold('a', session(3), 0), [], 'a wait already over is not counted');
    assert.equal(limiter.held, 0);
    assert.deepEqual(ended(limiter, 'a'), []);
    assert.deepEqual(ended(limiter, 'a'), [], 'nothing left counts: two connections fit the cap of 2');
  });

  it('forgets every wait once it has run out, also of addresses never seen again', () => {
    let now = 0;
    const limiter = new ConnectionLimiter(LIMITS, () => now);
    limiter.hold('long', session(0), 1_000);
    for (let i = 1; i <= 1_000; i++) limiter.hold(`addr-${i}`, session(i), 10);
    now = 20;
    assert.equal(limiter.heldBy('addr-1'), 0, 'an address is counted exactly when it is looked at');
    limiter.admit('x');
    assert.equal(limiter.held, 1_000, 'those behind a longer wait are forgotten no later than it (addr-1 already was)');
    now = 1_000;
    limiter.admit('y');
    assert.equal(limiter.held, 0);
  });
});
