import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { burstSocket } from '../../../src/runtime/burst-writes.js';
import { createTestPki } from '../../helpers/test-pki.js';

// Statements sent in one tick leave the session in one write.
function chunkCounter() {
  let bytes = 0;
  const server = net.createServer((s) =>
    s.on('data', (d) => {
      bytes += d.length;
    }),
  );
  return {
    server,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
      ),
    seen: () => ({ bytes }),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('burst writes', () => {
  const pki = createTestPki();
  afterAll(() => pki.remove());

  it('sends the writes of one tick in one write once the tick ends', async () => {
    const counter = chunkCounter();
    const port = await counter.listen();
    const burst = burstSocket({ host: '127.0.0.1', port });
    const socket = burst.open();
    await new Promise((r) => socket.once('connect', r));
    // Writes handed to the operating system: one _write per write, or one _writev per uncorked burst
    // (counted here: the reading side, in this same process, may merge separate writes anyway).
    let writes = 0;
    const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    for (const name of ['_write', '_writev'] as const) {
      const original = s[name].bind(socket);
      s[name] = (...a: unknown[]) => {
        writes++;
        original(...a);
      };
    }
    let sent = 0;
    for (let i = 0; i < 20; i++) {
      burst.hold();
      socket.write(`statement ${i};`);
      sent += `statement ${i};`.length;
    }
    expect(writes).toBe(0);
    await until(() => counter.seen().bytes >= sent);
    expect(writes).toBe(1);
    // The next tick's writes are not held back by the last one's.
    burst.hold();
    socket.write('one more');
    await until(() => counter.seen().bytes >= sent + 'one more'.length);
    expect(writes).toBe(2);
    // Without hold(), each write is its own.
    socket.write('a');
    socket.write('b');
    expect(writes).toBe(4);
    socket.destroy();
    counter.server.close();
  });

  it('holds back the TLS socket the connector puts on the session socket', async () => {
    const { cert, key } = pki.serverCert('burst', '127.0.0.1');
    const records: Buffer[] = [];
    const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s) =>
      s.on('data', (d) => records.push(d)),
    );
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
    );
    const burst = burstSocket({ host: '127.0.0.1', port });
    const raw = burst.open();
    await new Promise((r) => raw.once('connect', r));
    // What the connector does after the server's greeting: TLS over the socket it was given.
    const secure = tls.connect({ socket: raw, ca: readFileSync(pki.ca()), servername: undefined, host: '127.0.0.1' });
    await new Promise((r) => secure.once('secureConnect', r));
    let corked = 0;
    const cork = secure.cork.bind(secure);
    secure.cork = () => {
      corked++;
      cork();
    };
    burst.hold();
    for (let i = 0; i < 5; i++) secure.write(`statement ${i};`);
    expect(corked).toBe(1);
    await until(() => Buffer.concat(records).toString().includes('statement 4;'));
    expect(Buffer.concat(records).toString()).toBe('statement 0;statement 1;statement 2;statement 3;statement 4;');
    secure.destroy();
    server.close();
  });
});
