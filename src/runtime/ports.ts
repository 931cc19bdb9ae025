// TCP ports of local servers: is one free, and which one does a server get.
import net from 'node:net';

/**
 * True when nothing listens on host:port. We try to bind it: on Linux binding 127.0.0.1:P fails
 * when another socket holds 127.0.0.1:P or the wildcard 0.0.0.0:P, which is what mariadbd would hit.
 */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => {
      probe.close(() => resolve(true));
    });
  });
}

export interface PortRequest {
  server: string;
  /** `port:` from services.yaml. */
  declared?: number;
  /** Port recorded in state.json by an earlier `up`. */
  recorded?: number;
  /** The server runs now (on its recorded port): that port is its own, not a clash. */
  running?: boolean;
}

/**
 * Picks a port for each server: the declared one, else the recorded one, else the first port from
 * `basePort` upward that no other server declares or records and where nothing listens.
 * A recorded port that dbps picked itself is kept only while it is free (or the server runs on it):
 * another program may take it while the server is stopped, and then the server gets a new one.
 * A taken declared port is not changed here; the start step reports it as a clash.
 */
export async function allocatePorts(
  requests: PortRequest[],
  basePort: number,
  reserved: Iterable<number>,
  isFree: (port: number) => Promise<boolean> = portFree,
): Promise<Map<string, number>> {
  const taken = new Set<number>(reserved);
  const result = new Map<string, number>();
  for (const r of requests) {
    const recorded = r.recorded !== undefined && (r.running || (await isFree(r.recorded))) ? r.recorded : undefined;
    const fixed = r.declared ?? recorded;
    if (fixed !== undefined) {
      result.set(r.server, fixed);
      taken.add(fixed);
    }
  }
  let next = basePort;
  for (const r of requests) {
    if (result.has(r.server)) continue;
    while (next <= 65535 && (taken.has(next) || !(await isFree(next)))) next++;
    if (next > 65535) throw new Error(`no free port from ${basePort} upward`);
    result.set(r.server, next);
    taken.add(next);
    next++;
  }
  return result;
}
