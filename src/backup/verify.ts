// Verifies a backup set: each backup's files against the checksums taken at backup time, then a
// scratch server on a copy runs CHECK TABLE and CHECKSUM TABLE on every table. Results go into
// the manifest (rewritten atomically).
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { trackScratchDir, untrackScratchDir } from '../runtime/run-dir.js';
import { ident } from '../sql/quote.js';
import { changedFiles, sha256File } from './files.js';
import {
  type BackupManifest,
  readManifest,
  type ServerBackup,
  setStatusOf,
  type TableCheck,
  type VerifyResult,
  writeManifest,
} from './manifest.js';
import { lastErrorLine, runTool } from './proc.js';
import { startScratchServer } from './scratch-server.js';

export interface VerifyProgress {
  server: string;
  phase: 'files' | 'start' | 'check' | 'done' | 'failed';
  message?: string;
}

/** Verifies every ok entry of the set (or only `servers`), records results, returns the new manifest. */
export async function verifySet(
  setDir: string,
  opts: { servers?: string[]; workRoot: string; onProgress?: (p: VerifyProgress) => void },
): Promise<BackupManifest> {
  const manifest = await readManifest(setDir);
  for (const entry of manifest.servers) {
    if (entry.status !== 'ok' || (opts.servers && !opts.servers.includes(entry.server))) continue;
    entry.verify = await verifyOne(setDir, entry, opts.workRoot, (p) =>
      opts.onProgress?.({ server: entry.server, ...p }),
    );
  }
  manifest.status = setStatusOf(manifest.servers);
  await writeManifest(setDir, manifest);
  return manifest;
}

/**
 * Files of one server's backup that no longer match the sha256 recorded at backup time, as paths
 * relative to the set directory: the .tar.zst itself, or every changed or missing file of the
 * directory, plus the per-file list when it is gone or is not the list the manifest's checksum names.
 * Used by verify and, before anything is stopped, by restore.
 */
export async function changedBackupFiles(setDir: string, entry: ServerBackup): Promise<string[]> {
  if (!entry.path) return [];
  const src = path.join(setDir, entry.path);
  if (entry.path.endsWith('.tar.zst')) {
    const sum = await sha256File(src).catch(() => undefined);
    return sum === entry.checksum ? [] : [entry.path];
  }
  const listFile = `${entry.path}.sha256`;
  let lines: string;
  try {
    lines = await readFile(path.join(setDir, listFile), 'utf8');
  } catch {
    return [listFile];
  }
  const bad = (await changedFiles(src, lines)).map((f) => `${entry.path}/${f}`);
  if (entry.checksum && createHash('sha256').update(lines).digest('hex') !== entry.checksum) bad.unshift(listFile);
  return bad;
}

async function verifyOne(
  setDir: string,
  entry: ServerBackup,
  workRoot: string,
  progress: (p: Omit<VerifyProgress, 'server'>) => void,
): Promise<VerifyResult> {
  const at = new Date().toISOString();
  const fail = (reason: string, extra: Partial<VerifyResult> = {}): VerifyResult => {
    progress({ phase: 'failed', message: reason });
    return { at, ok: false, badFiles: [], tables: [], reason, ...extra };
  };
  if (!entry.path) return fail('the manifest names no backup files');
  const src = path.join(setDir, entry.path);
  progress({ phase: 'files' });
  if (entry.method === 'logical') {
    // A dump: its sha256, then the whole zstd stream decompressed and checked (zstd -t); a load into a
    // scratch server is what `restore --target-server` does.
    const sum = await sha256File(src).catch(() => undefined);
    if (sum !== entry.checksum)
      return fail(`${entry.path} does not match its recorded sha256`, { badFiles: [path.basename(entry.path)] });
    const t = await runTool('zstd', ['-t', '-q', src]);
    if (t.code !== 0) return fail(`${entry.path} is not a whole zstd stream: ${lastErrorLine(t.stderrTail)}`);
    progress({ phase: 'done' });
    return { at, ok: true, badFiles: [], tables: [] };
  }
  let badFiles: string[];
  try {
    // Recorded relative to the backup itself (the archive's or the list's own name when those changed).
    const prefix = `${entry.path}/`;
    badFiles = (await changedBackupFiles(setDir, entry)).map((f) =>
      f.startsWith(prefix) ? f.slice(prefix.length) : path.basename(f),
    );
  } catch (e) {
    return fail(`cannot read the backup files: ${(e as Error).message}`);
  }
  await mkdir(workRoot, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(workRoot, `verify-${entry.server}-`));
  // A killed dbps leaves this copy of the backup behind: the next start removes it.
  trackScratchDir(work);
  const datadir = path.join(work, 'data');
  let scratch: Awaited<ReturnType<typeof startScratchServer>> | undefined;
  try {
    const unprepared = await preparedCopy(setDir, entry, datadir);
    if (unprepared) return fail(unprepared, { badFiles });
    progress({ phase: 'start' });
    try {
      scratch = await startScratchServer(datadir, work, entry.server);
    } catch (e) {
      return fail((e as Error).message, { badFiles });
    }
    progress({ phase: 'check' });
    const tables = await checkTables(scratch.socket);
    const broken = tables.filter((t) => t.check !== 'OK' || t.checksum === null);
    const reasons: string[] = [];
    if (badFiles.length)
      reasons.push(`${badFiles.length} file(s) changed since the backup (${badFiles.slice(0, 3).join(', ')})`);
    if (broken.length)
      reasons.push(
        `${broken.length} table(s) failed CHECK TABLE (${broken
          .slice(0, 3)
          .map((t) => `${t.table}: ${t.check}`)
          .join('; ')})`,
      );
    if (scratch.exited()) reasons.push('the scratch server stopped during the checks');
    const ok = reasons.length === 0;
    progress({ phase: ok ? 'done' : 'failed', ...(ok ? {} : { message: reasons.join('; ') }) });
    return { at, ok, badFiles, tables, ...(ok ? {} : { reason: reasons.join('; ') }) };
  } catch (e) {
    return fail((e as Error).message, { badFiles });
  } finally {
    await scratch?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    untrackScratchDir(work);
  }
}

/**
 * Unpacks (or copies) one server's backup into `datadir` and prepares it, ready for a scratch server:
 * verify and `restore --database` both start from it. Returns why that failed, or undefined.
 */
export async function preparedCopy(setDir: string, entry: ServerBackup, datadir: string): Promise<string | undefined> {
  if (!entry.path) return 'the manifest names no backup files';
  const src = path.join(setDir, entry.path);
  if (entry.path.endsWith('.tar.zst')) {
    await mkdir(datadir);
    const x = await runTool('sh', [
      '-c',
      'zstd -q -d -c "$1" | tar -C "$2" --strip-components=1 -xf -',
      'sh',
      src,
      datadir,
    ]);
    if (x.code !== 0) return `cannot unpack ${entry.path}: ${lastErrorLine(x.stderrTail)}`;
  } else {
    await cp(src, datadir, { recursive: true });
  }
  if (!entry.prepared) {
    const p = await runTool('mariadb-backup', ['--prepare', `--target-dir=${datadir}`, '--use-memory=128M']);
    if (p.code !== 0) return `mariadb-backup --prepare failed: ${lastErrorLine(p.stderrTail)}`;
  }
  return undefined;
}

/** CHECK TABLE and CHECKSUM TABLE of every base table outside the virtual schemas. */
async function checkTables(socket: string): Promise<TableCheck[]> {
  const { createConnection } = await import('mariadb');
  const c = await createConnection({ socketPath: socket, user: 'root', connectTimeout: 5000, bigIntAsNumber: true });
  const out: TableCheck[] = [];
  try {
    const tables = (await c.query(
      "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema', 'sys') ORDER BY 1, 2",
    )) as { s: string; t: string }[];
    for (const { s, t } of tables) {
      const name = `${ident(s)}.${ident(t)}`;
      let check = 'OK';
      let checksum: number | null = null;
      try {
        const rows = (await c.query(`CHECK TABLE ${name}`)) as { Msg_type: string; Msg_text: string }[];
        const bad = rows.find((r) => r.Msg_type === 'error' || (r.Msg_type === 'status' && r.Msg_text !== 'OK'));
        if (bad) check = bad.Msg_text;
        const sum = (await c.query(`CHECKSUM TABLE ${name}`)) as { Checksum: number | null }[];
        checksum = sum[0]?.Checksum ?? null;
      } catch (e) {
        check = (e as { sqlMessage?: string }).sqlMessage ?? (e as Error).message;
      }
      out.push({ table: `${s}.${t}`, check, checksum });
    }
  } finally {
    await c.end().catch(() => c.destroy());
  }
  return out;
}
