import { WebSocket } from 'ws';

/**
 * A stand-in for the load balancer: every socket the SDK opens goes to the node
 * the test points it at now, whatever URL the SDK asked for. The sockets are kept
 * so a test can cut one.
 */
export function balancer(first: string) {
  const state = { target: first, sockets: [] as WebSocket[] };
  class Balanced extends WebSocket {
    constructor(_url: string, protocols?: string | string[]) {
      super(state.target, protocols);
      state.sockets.push(this);
    }
  }
  return Object.assign(state, { WebSocket: Balanced });
}

export type Balancer = ReturnType<typeof balancer>;
