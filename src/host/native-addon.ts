/**
 * Where the host agent's native addons (native/<dir>, built by
 * `npm run build:native` and on `npm install`) are found: next to the
 * sources, next to a bundle's entry script, or under the working directory.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `<file>.node` of native/`dir`, or undefined where it was not built. */
export function findNativeAddon(dir: string, file: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const rel = join('native', dir, 'build', 'Release', `${file}.node`);
  return [resolve(here, '../..', rel), resolve(here, '..', rel), resolve(process.cwd(), rel)].find((p) => existsSync(p));
}
