/**
 * `npm run size`: gzip (level 9) sizes of everything in `dist/` a browser downloads, checked
 * against budgets. Exits 1 when a budgeted file is over, or missing (run `npm run build`).
 * Budgets: the script-tag loader (and the ESM entry) ≤ 10 KB gzip; the Worker bundle ≤ 10 KB; the
 * federated chunk ≤ 10 KB, the participation-token chunk ≤ 60 KB and the secure-report chunk
 * ≤ 12 KB (all three loaded at a contribution only, the last two when the server asks for them).
 * The ML chunks and the wasm binaries are printed, with the total a shopper's browser downloads
 * on this machine's backend choice (wasm). Then the npm package as `npm pack` would publish it:
 * packed and unpacked size and file count, unpacked ≤ 3 MB (tfjs chunks and wasm binaries included).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const DIST = 'dist';
const KB = 1000;
const BUDGETS: Record<string, number> = {
  'edge-personalize.js': 10 * KB,
  'edge-personalize.mjs': 10 * KB,
  'edge-personalize.worker.js': 10 * KB,
  // Loaded at a contribution only: the round client, and the participation-token client (blind RSA).
  'edge-personalize.federated.js': 10 * KB,
  'edge-personalize.tokens.js': 60 * KB,
  // Loaded for a secure-aggregation round only: additive shares (SHAKE128) and HPKE.
  'edge-personalize.secure.js': 12 * KB,
};
/** What a page downloads when `auto` picks wasm (this machine): loader, Worker, model format, tfjs-core, cpu + wasm backends, the SIMD binary. */
const WASM_PATH = [
  'edge-personalize.js',
  'edge-personalize.worker.js',
  'edge-personalize.model-format.js',
  'edge-personalize.ml.js',
  'edge-personalize.ml-cpu.js',
  'edge-personalize.ml-wasm.js',
  'tfjs-backend-wasm-simd.wasm',
];

if (!existsSync(DIST)) {
  console.error('size: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
const files = readdirSync(DIST)
  .filter((f) => /\.(js|mjs|wasm)$/.test(f))
  .sort();
const sizes = new Map<string, { raw: number; gzip: number }>();
for (const f of files) {
  const buf = readFileSync(join(DIST, f));
  sizes.set(f, { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length });
}
const fmt = (n: number): string => `${(n / KB).toFixed(1)} KB`;
let failed = false;
console.log(`${'file'.padEnd(42)} ${'raw'.padStart(10)} ${'gzip'.padStart(10)}  budget`);
for (const [f, s] of sizes) {
  const budget = BUDGETS[f];
  const verdict = budget === undefined ? '' : s.gzip <= budget ? `≤ ${fmt(budget)} ok` : `> ${fmt(budget)} OVER BUDGET`;
  if (budget !== undefined && s.gzip > budget) failed = true;
  console.log(`${f.padEnd(42)} ${fmt(s.raw).padStart(10)} ${fmt(s.gzip).padStart(10)}  ${verdict}`);
}
for (const f of Object.keys(BUDGETS)) {
  if (!sizes.has(f)) {
    console.error(`size: ${f} is missing from dist/`);
    failed = true;
  }
}
const wasmPath = WASM_PATH.reduce((sum, f) => sum + (sizes.get(f)?.gzip ?? 0), 0);
console.log(`\ndownloaded on the wasm path (loader + Worker + tfjs-core + cpu/wasm backends + SIMD binary): ${fmt(wasmPath)} gzip`);
// The participation-token client (31 KB gzip) and the secure-report code are loaded only when a
// device contributes, and only if the server asks for them: no other chunk may import them
// statically, but for the token Worker's entry (started only for a token, it runs that code).
const LAZY_ENTRIES: Record<string, string> = { tokens: 'edge-personalize.tokens-worker.js' };
for (const lazy of ['tokens', 'secure']) {
  for (const f of files.filter((x) => x.endsWith('.js') && x !== `edge-personalize.${lazy}.js` && x !== LAZY_ENTRIES[lazy])) {
    if (new RegExp(`(?:from|import)\\s*"\\./edge-personalize\\.${lazy}\\.js"`).test(readFileSync(join(DIST, f), 'utf8'))) {
      console.error(`size: ${f} imports the ${lazy} chunk statically: every page would download it`);
      failed = true;
    }
  }
}
// The Worker reads the model's files and ranks a returning shopper's first slot in plain JS while
// tfjs loads: neither the Worker bundle nor the model-format chunk may import the ML chunks
// statically (only `import("./…ml….js")`, loaded when needed).
for (const f of ['edge-personalize.worker.js', 'edge-personalize.model-format.js']) {
  const path = join(DIST, f);
  if (!existsSync(path)) continue;
  const staticMl = readFileSync(path, 'utf8').match(/(?:from|import)\s*"\.\/edge-personalize\.ml[\w-]*\.js"/g);
  if (staticMl) {
    console.error(`size: ${f} imports the ML chunk statically (${staticMl.join(', ')}): the first rank would wait for tfjs`);
    failed = true;
  } else {
    console.log(`${f}: no static import of the ML chunks (first rank without tfjs)`);
  }
}

// The model budgets (decimal bytes): the DIGINETICA int8 artifact (manifest + weights)
// ≤ 3 MB; the demo-shop model, vocabulary included, ≤ 300 KB.
const MODEL_BUDGETS: Array<[string, string[], number]> = [
  ['models/online-retail', ['model.json', 'weights.bin', 'vocab.txt'], 300_000],
  ['models/diginetica', ['model.json', 'weights.bin'], 3_000_000],
];
for (const [dir, files, budget] of MODEL_BUDGETS) {
  const model = ['model.json', 'weights.bin', 'vocab.txt'].map((f) => join(dir, f)).filter(existsSync);
  const raw = model.reduce((s, f) => s + readFileSync(f).length, 0);
  const gz = model.reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  const counted = files.reduce((s, f) => s + (existsSync(join(dir, f)) ? readFileSync(join(dir, f)).length : Infinity), 0);
  const over = counted > budget;
  if (over) failed = true;
  console.log(
    `model ${dir}: ${fmt(raw)} raw, ${fmt(gz)} gzip (manifest + int8 weights + vocabulary); ${files.join(' + ')} = ${counted.toLocaleString('en-US')} B of ${budget.toLocaleString('en-US')} B${over ? '  OVER BUDGET' : ''}`,
  );
}
// The package as published (`npm pack --dry-run`: the files of package.json's `files`, as built).
const PACKAGE_UNPACKED_BUDGET = 3_000_000;
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { encoding: 'utf8' })) as Array<{
    size: number;
    unpackedSize: number;
    entryCount: number;
  }>;
  const over = packed!.unpackedSize > PACKAGE_UNPACKED_BUDGET;
  if (over) failed = true;
  console.log(
    `\npackage (npm pack): ${fmt(packed!.size)} packed, ${fmt(packed!.unpackedSize)} unpacked in ${packed!.entryCount} files (budget ${fmt(PACKAGE_UNPACKED_BUDGET)} unpacked)${over ? '  OVER BUDGET' : ''}`,
  );
} catch (err) {
  console.error(`size: npm pack --dry-run failed: ${(err as Error).message}`);
  failed = true;
}
if (failed) {
  console.error('\nsize: over budget (see above)');
  process.exit(1);
}
