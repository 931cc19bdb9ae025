// --generate-secrets: random account passwords into one 0600 file meant for a secret manager. The
// generated manifests reference the Secrets by name only, so no value ever lands in a file for git.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { OperationalError, UsageError } from '../errors.js';
import type { Fleet } from '../fleet/model.js';
import type { K8sOptions } from '../render/k8s/common.js';

/** 32 URL-safe characters (192 random bits): no quoting trouble in YAML, shells or my.cnf. */
function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Writes the secrets file; refuses to overwrite one, since that would rotate every password at once. */
export async function writeGeneratedSecrets(
  fleet: Fleet,
  k8s: K8sOptions,
  file: string,
): Promise<{ path: string; secrets: number }> {
  const { renderSecretsFile } = await import('../render/k8s/manifests.js');
  let count = 0;
  const content = renderSecretsFile(fleet, k8s, () => {
    count++;
    return randomPassword();
  });
  try {
    await writeFile(file, content, { encoding: 'utf8', mode: 0o600, flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new UsageError(`${file} already exists; it may hold the passwords in use`, {
        hint: 'load it into your secret manager and delete it, or name another file',
      });
    }
    throw new OperationalError(`cannot write ${file}: ${(e as Error).message}`);
  }
  return { path: file, secrets: count };
}
