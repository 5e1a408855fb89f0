import type { IncomingMessage } from 'node:http';
import { AddressSet, addressKey, type IpAddress } from './address.js';
import { clientAddress } from './client-address.js';
import { ConnectionLimiter, type AdmissionLimits, type HeldSession, type LimitExceeded } from './connection-limiter.js';
import { originAllowed, type AllowedOrigins } from './origin.js';
import { Refusals, type Refusal } from './refusal.js';

export interface UpgradeGateOptions extends AdmissionLimits {
  /** ALLOWED_ORIGINS: `*`, a list, or undefined for same-origin only. */
  readonly allowedOrigins?: '*' | readonly string[];
  /** TRUSTED_PROXIES: addresses and networks whose X-Forwarded-For is believed. */
  readonly trustedProxies?: readonly string[];
}

/**
 * An upgrade let through: the client's address, what to call once its
 * connection has ended, and the sessions its address had left waiting that
 * stop counting to make room for it (the caller ends them).
 */
export interface Admitted {
  readonly ok: true;
  readonly address: IpAddress;
  readonly release: () => void;
  readonly ended: readonly HeldSession[];
}

export interface Refused {
  readonly ok: false;
  readonly address: IpAddress;
  readonly refusal: Refusal;
}

/**
 * Admission control for WebSocket upgrades, decided from the request alone,
 * before any WebSocket exists: the page's origin, then the node's connection
 * cap, then the client address's cap (its sessions waiting for a resume
 * included: the oldest of them make room) and its rate of new connections. The
 * client address is the peer's, or what a trusted proxy says it is.
 */
export class UpgradeGate {
  private readonly trusted: AddressSet;
  private readonly origins: AllowedOrigins;
  private readonly limiter: ConnectionLimiter;

  constructor(private readonly options: UpgradeGateOptions) {
    this.trusted = new AddressSet(options.trustedProxies ?? []);
    this.origins = options.allowedOrigins;
    this.limiter = new ConnectionLimiter(options);
  }

  /** The client's address, as the limits and the logs know it. */
  addressOf(req: IncomingMessage): IpAddress {
    return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.trusted);
  }

  admit(req: IncomingMessage): Admitted | Refused {
    const address = this.addressOf(req);
    if (!originAllowed(req.headers.origin, req.headers.host, this.origins)) {
      return { ok: false, address, refusal: Refusals.originNotAllowed() };
    }
    const key = addressKey(address);
    const admitted = this.limiter.admit(key);
    if (!admitted.ok) return { ok: false, address, refusal: this.refusalOf(admitted.limit) };
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.limiter.release(key);
    };
    return { ok: true, address, release, ended: admitted.ended };
  }

  /**
   * A session whose connection from `address` dropped here waits for a resume
   * for `forMs`: it counts against the address's cap (see ConnectionLimiter.hold).
   * Returns the held sessions of the address that stop counting (the caller ends them).
   */
  hold(address: IpAddress, session: HeldSession, forMs: number): readonly HeldSession[] {
    return this.limiter.hold(addressKey(address), session, forMs);
  }

  /** The session no longer waits here (resumed, or ended): it stops counting. */
  unhold(token: string): void {
    this.limiter.unhold(token);
  }

  /** Connections admitted and not yet released. */
  get size(): number {
    return this.limiter.size;
  }

  private refusalOf(limit: LimitExceeded): Refusal {
    switch (limit) {
      case 'node-full':
        return Refusals.nodeFull(this.options.maxConnections);
      case 'address-full':
        return Refusals.addressFull(this.options.maxConnectionsPerIp);
      case 'address-rate':
        return Refusals.addressRate(this.options.connectionRatePerIp);
    }
  }
}
