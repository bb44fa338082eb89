/**
 * The client host name for host-name rules, as hba.c check_hostname() obtains it: a reverse lookup
 * of the client address (getnameinfo with NI_NAMEREQD), then a forward lookup of that name whose
 * results must include the client address. Only a name that passes both is ever matched.
 */
import { promises as dns } from 'node:dns';
import { clientAddress } from './ip.js';

/** The two lookups, injectable for tests. Defaults use the system resolver (getnameinfo/getaddrinfo). */
export interface HostnameResolver {
  /** Reverse lookup; resolves to the name, or the numeric address when there is none. */
  reverse(ip: string): Promise<string>;
  /** Forward lookup; every address the name has. */
  forward(name: string): Promise<string[]>;
}

export const systemResolver: HostnameResolver = {
  reverse: async (ip) => (await dns.lookupService(ip, 0)).hostname,
  forward: async (name) => (await dns.lookup(name, { all: true, verbatim: true })).map((a) => a.address),
};

/**
 * Resolves `ip` to a forward-confirmed host name, or null when the reverse lookup finds no name or the
 * forward lookup does not return `ip` (PostgreSQL then matches no host-name line for the client).
 */
export async function resolveClientHostname(ip: string, resolver: HostnameResolver = systemResolver): Promise<string | null> {
  const client = clientAddress(ip);
  if (client === null) return null;
  let name: string;
  try {
    name = await resolver.reverse(ip);
  } catch {
    return null;
  }
  // NI_NAMEREQD: a numeric answer means "no name"; getnameinfo without it just echoes the address.
  if (name === '' || clientAddress(name) !== null) return null;
  let addresses: string[];
  try {
    addresses = await resolver.forward(name);
  } catch {
    return null;
  }
  const confirmed = addresses.some((a) => {
    const addr = clientAddress(a);
    return addr !== null && addr.family === client.family && addr.value === client.value;
  });
  return confirmed ? name : null;
}
