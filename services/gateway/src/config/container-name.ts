import { promises as dns } from 'node:dns';
import { hostname, networkInterfaces } from 'node:os';
import { withTimeout } from '../async/with-timeout.js';

/** Docker's default hostname for a container: the first 12 hex digits of its id. */
const CONTAINER_ID = /^[0-9a-f]{12}$/;

/** How long the reverse lookup may take before the hostname is kept, ms. */
const LOOKUP_TIMEOUT_MS = 1_000;

/**
 * The name Docker gave this container, when its hostname is only its id
 * (`13aec401aa0c`): Docker's DNS answers a reverse lookup of the container's
 * address with `<container name>.<network>` (`switchboard_gateway_2.switchboard_default`
 * with docker-compose 1.29, `switchboard-gateway-2.…` with compose v2), and the
 * first label is the container's name (what `docker kill` takes). A Swarm task's
 * is not its own (the stack sets NODE_NAME to `{{.Task.Name}}` instead). Undefined outside a container, when the hostname is
 * a name already, or when no answer comes within LOOKUP_TIMEOUT_MS.
 */
export async function containerName(host: string = hostname()): Promise<string | undefined> {
  if (!CONTAINER_ID.test(host)) return undefined;
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
  for (const address of addresses) {
    // resolvePtr, not reverse(): Docker's DNS answers the PTR query, which reverse() reads as no name at all.
    const arpa = `${address.split('.').reverse().join('.')}.in-addr.arpa`;
    const names = await withTimeout(dns.resolvePtr(arpa), LOOKUP_TIMEOUT_MS).catch(() => undefined);
    const name = names?.[0]?.split('.')[0];
    if (name !== undefined && name !== '' && name !== host) return name;
  }
  return undefined;
}
