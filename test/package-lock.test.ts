/**
 * The lockfile agrees with package.json, so that `npm install` has nothing to rewrite and
 * `npm ci` installs what package.json says. npm copies these fields of package.json into
 * the lockfile's root entry.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

async function json(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`../${name}`, import.meta.url), 'utf8'));
}

describe('package-lock.json', () => {
  it('has package.json’s name, version, engines and dependencies in its root entry', async () => {
    const manifest = await json('package.json');
    const lock = await json('package-lock.json');
    const root = (lock.packages as Record<string, Record<string, unknown>>)[''];
    const fields = [
      'name',
      'version',
      'license',
      'engines',
      'dependencies',
      'devDependencies',
      'peerDependencies',
      'peerDependenciesMeta',
    ];
    const pick = (from: Record<string, unknown> | undefined) =>
      Object.fromEntries(fields.map((field) => [field, from?.[field]]));
    expect(pick(root)).toEqual(pick(manifest));
    expect(lock.name).toBe(manifest.name);
    expect(lock.version).toBe(manifest.version);
  });
});
