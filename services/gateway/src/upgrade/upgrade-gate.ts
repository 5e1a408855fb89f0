import type { IncomingMessage } from 'node:http';
import { AddressSet, addressKey, type IpAddress } from './address.js';
import { clientAddress } from './client-address.js';
import { ConnectionLimiter, type AdmissionLimits } from './connection-limiter.js';
import { originAllowed, type AllowedOrigins } from './origin.js';
import { Refusals, type Refusal } from './refusal.js';

export interface UpgradeGateOptions extends AdmissionLimits {
  /** ALLOWED_ORIGINS: `*`, a list, or undefined for same-origin only. */
  readonly allowedOrigins?: '*' | readonly string[];
  /** TRUSTED_PROXIES: addresses and networks whose X-Forwarded-For is believed. */
  readonly trustedProxies?: readonly string[];
}

/** An upgrade let through: the client's address, and what to call once its connection has ended. */
export interface Admitted {
  readonly ok: true;
  readonly address: IpAddress;
  readonly release: () => void;
}

export interface Refused {
  readonly ok: false;
  readonly address: IpAddress;
  readonly refusal: Refusal;
}

/**
 * Admission control for WebSocket upgrades, decided from the request alone,
 * before any WebSocket exists: the page's origin, then the node's connection
 * cap, then the client address's cap and its rate of new connections. The
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
    switch (this.limiter.admit(key)) {
      case 'node-full':
        return { ok: false, address, refusal: Refusals.nodeFull(this.options.maxConnections) };
      case 'address-full':
        return { ok: false, address, refusal: Refusals.addressFull(this.options.maxConnectionsPerIp) };
      case 'address-rate':
        return { ok: false, address, refusal: Refusals.addressRate(this.options.connectionRatePerIp) };
      case undefined: {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.limiter.release(key);
        };
        return { ok: true, address, release };
      }
    }
  }

  /** Connections admitted and not yet released. */
  get size(): number {
    return this.limiter.size;
  }
}
