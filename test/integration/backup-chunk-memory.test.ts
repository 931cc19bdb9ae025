// A backup set takes the digests of the chunks the server's last set already checksummed, when their
// fingerprints match (chunk-memory.ts). On a real server: a set taken after rows changed still
// verifies (every file digested again from scratch) and restores what it backed up; the memory is the
// owner's alone; a memory that others could read, or that is damaged, is not used.
import { readFileSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, destroyAllFleets, type LocalFleet, randomBasePort, serverSql } from '../helpers/local-fleet.js';

let fleet: LocalFleet;

const memoryFile = () => path.join(fleet.stateDir, 'cache', 'backup-chunks.json');
const memoryDoc = () =>
  JSON.parse(readFileSync(memoryFile(), 'utf8').split('\n')[1]!) as {
    key: string;
    servers: Record<string, Record<string, string>>;
  };

async function backup(): Promise<string> {
  const r = await fleet.run(['--json', 'backup'], { DBPS_MEMORY_SCALE: '0.25' });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }).id;
}

async function verify(id: string): Promise<void> {
  const r = await fleet.run(['--json', 'backups', 'verify', id]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
}

async function checksum(): Promise<number> {
  return (await serverSql<{ Checksum: number }>(fleet, 'ledger', 'CHECKSUM TABLE ledger.big'))[0]!.Checksum;
}

beforeAll(async () => {
  fleet = await createFleet(`version: 1
fleet: chunks
defaults: { basePort: ${randomBasePort()} }
services:
  ledger: { memory: 512M }
`);
  const up = await fleet.run(['up'], { DBPS_MEMORY_SCALE: '0.25' });
  expect(up.code, up.stderr + up.stdout).toBe(0);
  const prov = await fleet.run(['provision']);
  expect(prov.code, prov.stderr).toBe(0);
  // About 20 MB: a tablespace of several 4 MiB chunks.
  await serverSql(fleet, 'ledger', 'CREATE TABLE ledger.big (id INT PRIMARY KEY, pad VARCHAR(3000)) ENGINE=InnoDB');
  await serverSql(fleet, 'ledger', 'INSERT INTO ledger.big SELECT seq, REPEAT(MD5(seq), 90) FROM ledger.seq_1_to_7000');
}, 240_000);

afterAll(async () => {
  await destroyAllFleets();
});

describe('chunks remembered from one backup set to the next', () => {
  it('a set taken after rows changed verifies and restores what it backed up; the memory is 0600', async () => {
    await backup();
    expect(statSync(memoryFile()).mode & 0o777).toBe(0o600);
    expect(Object.keys(memoryDoc().servers.ledger ?? {})).toContain('ledger/big.ibd');
    // Rows changed all through the table: chunks of the next set differ from the remembered ones.
    await serverSql(fleet, 'ledger', "UPDATE ledger.big SET pad = REPEAT('x', 3000) WHERE id % 700 = 0");
    const backedUp = await checksum();
    const second = await backup();
    await verify(second);
    await serverSql(fleet, 'ledger', 'DELETE FROM ledger.big WHERE id < 100');
    expect(await checksum()).not.toBe(backedUp);
    const r = await fleet.run(['--json', 'restore', second, 'ledger', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(await checksum()).toBe(backedUp);
  });

  it('a memory that others could read, or that is damaged, is not used: a fresh one replaces it', async () => {
    const key = memoryDoc().key;
    await chmod(memoryFile(), 0o644);
    await verify(await backup());
    expect(memoryDoc().key).not.toBe(key);
    expect(statSync(memoryFile()).mode & 0o777).toBe(0o600);
    const next = memoryDoc().key;
    await writeFile(memoryFile(), 'not a memory', { mode: 0o600 });
    await verify(await backup());
    expect(memoryDoc().key).not.toBe(next);
    expect(Object.keys(memoryDoc().servers.ledger ?? {})).toContain('ledger/big.ibd');
  });
});
