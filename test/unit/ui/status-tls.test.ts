// `status --wide` says how dbps's session to each server is secured.
import { describe, expect, it } from 'vitest';
import type { StatusResult } from '../../../src/commands/status.js';
import type { ServerProbe } from '../../../src/runtime/driver.js';
import { noPaint } from '../../../src/ui/paint.js';
import { statusText } from '../../../src/ui/render/fleet-runtime.js';

const probe = (server: string, tls: ServerProbe['tls']): ServerProbe => ({
  server,
  driver: 'external',
  services: [server],
  host: '10.0.0.1',
  port: 3306,
  state: 'running',
  shouldRun: true,
  health: [],
  ...(tls ? { tls } : {}),
});

describe('status TLS column', () => {
  it('verified TLS, unverified TLS, the socket and no answer', () => {
    const r: StatusResult = {
      command: 'status',
      fleet: 'f',
      down: [],
      outcome: 'ok',
      servers: [
        probe('a', {
          serverTls: true,
          transport: 'tcp',
          mode: 'verify-full',
          version: 'TLSv1.3',
          cipher: 'TLS_AES_256_GCM_SHA384',
          verified: true,
        }),
        probe('b', {
          serverTls: true,
          transport: 'tcp',
          mode: 'required',
          version: 'TLSv1.2',
          cipher: 'X',
          verified: false,
        }),
        probe('c', { serverTls: true, transport: 'socket', verified: false }),
        probe('d', undefined),
      ],
    };
    const lines = statusText(r, noPaint, { wide: true }).split('\n');
    expect(lines[0]).toMatch(/SOCKET\s+TLS\s*$/);
    expect(lines.find((l) => l.startsWith('a '))).toMatch(/TLSv1\.3 verified\s*$/);
    expect(lines.find((l) => l.startsWith('b '))).toMatch(/TLSv1\.2\s*$/);
    expect(lines.find((l) => l.startsWith('c '))).toMatch(/socket \(server has TLS\)\s*$/);
    expect(lines.find((l) => l.startsWith('d '))).toMatch(/-\s*$/);
  });
});
