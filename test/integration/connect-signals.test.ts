// `dbps connect` writes the account's password into a 0600 option file for the client. Whatever ends
// dbps (the client finishing, Ctrl-C, SIGTERM from a supervisor, SIGHUP from a closed terminal), the
// file must be gone afterwards, and dbps must end with the conventional 128 + signal number.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/dbps-cli.js';
import { startTestServer, stopAllTestServers, type TestServer } from '../helpers/mariadb-server.js';

const PW = 'Sig-Test-Pw-9!';
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ name: 'sig' });
  await server.query('CREATE DATABASE svc');
  await server.query(`CREATE USER 'svc_app'@'%' IDENTIFIED BY '${PW}'`);
  await server.query("GRANT SELECT ON svc.* TO 'svc_app'@'%'");
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbps-sig-'));
  await writeFile(
    path.join(dir, 'services.yaml'),
    `version: 1
fleet: sig
servers:
  legacy: { driver: external, host: 127.0.0.1, port: ${server.port}, admin: { user: root } }
services:
  svc: { server: legacy, users: [ { name: svc_app, role: app, passwordEnv: SVC_PW } ] }
`,
  );
});

afterAll(async () => {
  await stopAllTestServers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Option files dbps left in the run dir of this state dir (where they are written, never /tmp). */
function leftovers(stateDir: string): string[] {
  const run = path.join(stateDir, 'run');
  if (!existsSync(run)) return [];
  return readdirSync(run).flatMap((d) =>
    readdirSync(path.join(run, d))
      .filter((n) => n.startsWith('client-'))
      .map((n) => path.join(run, d, n)),
  );
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts `dbps connect svc -e 'SELECT SLEEP(5)'`, sends `sig` once the client runs, returns how dbps ended. */
async function connectAndSignal(sig: NodeJS.Signals) {
  const tmp = await mkdtemp(path.join(dir, 'tmp-'));
  const child = spawn(process.execPath, [BIN, 'connect', 'svc', '-e', 'SELECT SLEEP(5)'], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', DBPS_STATE_DIR: tmp, SVC_PW: PW },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // The option file exists, then the client is connected and running the query.
  await until(() => leftovers(tmp).length > 0, 'the option file');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await server.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'svc_app' AND INFO LIKE 'SELECT SLEEP%'",
    );
    if (Number(rows[0]!.n) > 0) break;
    if (Date.now() > deadline) throw new Error(`the client never ran its query: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const started = Date.now();
  child.kill(sig);
  const end = await ended;
  return { ...end, left: leftovers(tmp), seconds: (Date.now() - started) / 1000, stderr };
}

describe('dbps connect removes its credentials file whatever ends it', () => {
  it('removes it after a normal run', async () => {
    const tmp = await mkdtemp(path.join(dir, 'tmp-'));
    const child = spawn(process.execPath, [BIN, 'connect', 'svc', '-e', 'SELECT 1'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', DBPS_STATE_DIR: tmp, SVC_PW: PW },
      stdio: 'ignore',
    });
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(leftovers(tmp)).toEqual([]);
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`on ${sig}: forwards it to the client, removes the file, exits ${code}`, async () => {
      const r = await connectAndSignal(sig);
      expect(r.left).toEqual([]);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(code);
      // The client was told too: dbps did not wait for the 5 s query to finish.
      expect(r.seconds).toBeLessThan(4);
      expect(r.stderr).not.toContain(PW);
    });
  }
});
