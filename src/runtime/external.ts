// The external driver: servers dbps does not run. `up` only checks they answer, `down` leaves them
// alone, `status` probes them with the admin account from services.yaml.
import { adminTarget, connectAdmin } from './admin.js';
import type { Driver, ServerProbe } from './driver.js';
import { boundedTarget, resolveTimeouts } from './fanout.js';
import { readHealth } from './health.js';
import { readTlsStatus } from './tls-status.js';

export const externalDriver: Driver = {
  async start(server, ctx) {
    const began = Date.now();
    ctx.progress(`checking ${server.host}:${server.port ?? 3306} answers`);
    const target = await adminTarget(ctx.fleet, server, ctx.stateDir, ctx.env);
    // Bounded like every wait on a server (defaults.connectTimeout, 60 s per statement).
    const session = await connectAdmin(boundedTarget(target, ctx.timeouts ?? resolveTimeouts(ctx.fleet)));
    try {
      await session.query('SELECT 1');
    } finally {
      await session.close();
    }
    return {
      server: server.name,
      action: 'reachable',
      ...(target.port !== undefined ? { port: target.port } : {}),
      ...(target.socketPath ? { socket: target.socketPath } : {}),
      seconds: (Date.now() - began) / 1000,
    };
  },

  async stop(server) {
    return { server: server.name, action: 'left-running', destroyed: false };
  },

  async probe(server, ctx): Promise<ServerProbe> {
    const base: ServerProbe = {
      server: server.name,
      driver: 'external',
      services: server.services,
      host: server.host ?? '',
      ...(server.port !== undefined ? { port: server.port } : {}),
      ...(server.admin?.socket ? { socket: server.admin.socket } : {}),
      state: 'unreachable',
      // dbps never starts an external server, so it is always expected to answer.
      shouldRun: true,
      health: [],
    };
    // A server that does not let dbps in throws: the fleet fan-out of `status` classifies it once
    // (unreachable, tls, access-denied, timeout) into the probe's detail and failure kind.
    const target = await adminTarget(ctx.fleet, server, ctx.stateDir, ctx.env);
    const session = await connectAdmin(ctx.timeouts ? boundedTarget(target, ctx.timeouts) : target);
    try {
      const [h, tls] = await Promise.all([readHealth(session, ctx.fleet, server), readTlsStatus(session, target)]);
      return {
        ...base,
        state: 'running',
        version: h.version,
        uptimeSeconds: h.uptimeSeconds,
        threadsConnected: h.threadsConnected,
        bufferPoolReads: h.bufferPoolReads,
        health: h.health,
        tls,
      };
    } finally {
      await session.close();
    }
  },
};
