// Which host names and account hosts stay on one machine: TLS defaults and the network-without-tls rule. Pure.

/** A host name or address that never leaves this machine. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** An account host that admits only clients on the server's own machine. */
export function isLocalAccountHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1';
}
