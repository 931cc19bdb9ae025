// What the repository around `dbps generate` holds, for defaults of the ci output. Thin I/O only.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * True when `<root>/package.json` lists dbps as a dependency and a package-lock.json sits beside it,
 * so a CI job can install it with `npm ci` (the default --ci-install is then `repo`).
 */
export async function repoListsDbps(root: string): Promise<boolean> {
  try {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    const listed = ['dependencies', 'devDependencies', 'optionalDependencies'].some((k) => {
      const deps = pkg[k];
      return deps !== null && typeof deps === 'object' && 'dbps' in deps;
    });
    return listed && (await stat(path.join(root, 'package-lock.json'))).isFile();
  } catch {
    return false;
  }
}
