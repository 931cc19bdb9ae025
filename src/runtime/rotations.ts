// rotations.json in the state dir: the password rotations `dbps rotate` started and has not finished.
// No password is kept here (the new one is in secrets.env or the account's passwordEnv).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OperationalError } from '../errors.js';
import type { RotationRecord } from '../grants/rotation.js';
import { writeFileAtomic } from '../util/atomic-write.js';

interface RotationsFile {
  version: 1;
  rotations: RotationRecord[];
}

/** Where the records live. */
export function rotationsPath(stateDir: string): string {
  return path.join(stateDir, 'rotations.json');
}

/** Every unfinished rotation of the fleet (none when the file does not exist). */
export async function readRotations(stateDir: string): Promise<RotationRecord[]> {
  let text: string;
  try {
    text = await readFile(rotationsPath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new OperationalError(
      `cannot read ${rotationsPath(stateDir)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    const doc = JSON.parse(text) as RotationsFile;
    if (doc.version !== 1 || !Array.isArray(doc.rotations)) throw new Error('not version 1');
    return doc.rotations.filter((r) => typeof r?.user === 'string' && typeof r?.server === 'string');
  } catch (e) {
    throw new OperationalError(`${rotationsPath(stateDir)} is not a rotations file (${(e as Error).message})`, {
      hint: 'restore it from a backup of the state dir, or remove it and start the rotation again with `dbps rotate`',
    });
  }
}

/** Replaces (or, with `record` undefined, removes) the record of one account. */
export async function saveRotation(
  stateDir: string,
  key: { server: string; user: string; host: string },
  record: RotationRecord | undefined,
): Promise<void> {
  const others = (await readRotations(stateDir)).filter(
    (r) => !(r.server === key.server && r.user === key.user && r.host === key.host),
  );
  const doc: RotationsFile = { version: 1, rotations: record ? [...others, record] : others };
  await writeFileAtomic(rotationsPath(stateDir), `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
}
