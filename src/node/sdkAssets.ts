import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The files the SDK loads at run time beside its Worker: the Worker itself, its chunks (model
 * format, tfjs and its backends, federated learning, participation tokens), the web-vitals
 * module, the wasm binaries, and the source maps that ship with them. Not the loader or the ESM
 * entry: a site loads those by `<script>` or bundles them.
 */
export const isRuntimeFile = (name: string): boolean => /^edge-personalize\.[\w-]+\.js(\.map)?$|\.wasm$/.test(name);

/** The package's `dist/` folder, from the built bin (`dist/server/cli.js`) or from `src/` in a clone. */
export function sdkDistDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..'), resolve(here, '../../dist')];
  return candidates.find((d) => existsSync(join(d, 'edge-personalize.worker.js'))) ?? candidates[0]!;
}

/** Copies the SDK's run-time files into `outDir` (made if missing); returns the names copied. */
export function copySdkAssets(outDir: string, from = sdkDistDir()): string[] {
  const names = existsSync(from) ? readdirSync(from).filter(isRuntimeFile).sort() : [];
  if (!names.includes('edge-personalize.worker.js')) {
    throw Object.assign(new Error(`no SDK build in ${from} (expected edge-personalize.worker.js; in a clone, run npm run build)`), {
      name: 'UsageError',
    });
  }
  mkdirSync(outDir, { recursive: true });
  for (const name of names) copyFileSync(join(from, name), join(outDir, name));
  return names;
}
