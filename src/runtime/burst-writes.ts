// One write per burst of statements. dbps sends a command's statements to a server all at once
// (pipelined: provision's catalog read is ~20, audit's ~25); the connector writes each one with its own
// write(2). On a network every write costs the sender the network stack's work for one packet (across
// a bridge, the receiving side's too), which made dbps's own CPU grow with the number of servers. The
// session owns its socket (the connector's `stream` option) and corks it for the rest of the tick in
// which a statement is sent, so a burst leaves in one writev(2) when the tick ends.
import net from 'node:net';
import tls from 'node:tls';

/** The TCP (or Unix) socket under one admin session, and the TLS socket the connector puts on it, if any. */
export interface BurstSocket {
  /** For the connector's `stream` option: opens the socket the connector then speaks through. */
  open(): net.Socket;
  /** Call before sending a statement: holds this tick's writes back and sends them together after it. */
  hold(): void;
}

// The connector upgrades to TLS with tls.connect({ socket: <our socket> }) and keeps the TLS socket to
// itself; writes then go through that socket, so that is the one to cork. tls.connect is wrapped once
// (a pass-through) to learn which TLS socket runs over which of our sockets; any other caller is untouched.
const tlsOver = new WeakMap<net.Socket, tls.TLSSocket>();
let tlsWatched = false;
function watchTlsUpgrades(): void {
  if (tlsWatched) return;
  tlsWatched = true;
  const connect = tls.connect;
  (tls as { connect: typeof tls.connect }).connect = function (this: unknown, ...args: unknown[]) {
    const secure = (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
    const raw = (args[0] as { socket?: unknown } | undefined)?.socket;
    if (raw instanceof net.Socket) tlsOver.set(raw, secure);
    return secure;
  } as typeof tls.connect;
}

export function burstSocket(where: { socketPath: string } | { host: string; port: number }): BurstSocket {
  watchTlsUpgrades();
  let socket: net.Socket | undefined;
  let held: net.Socket | undefined;
  return {
    open() {
      if ('socketPath' in where) socket = net.connect(where.socketPath);
      else {
        socket = net.connect(where.port, where.host);
        socket.setNoDelay(true);
      }
      return socket;
    },
    hold() {
      if (held || !socket) return;
      const target = tlsOver.get(socket) ?? socket;
      if (target.destroyed) return;
      held = target;
      target.cork();
      process.nextTick(() => {
        held = undefined;
        target.uncork();
      });
    },
  };
}
