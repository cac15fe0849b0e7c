/**
 * Builds `dist/`:
 * - `edge-personalize.js`        the script-tag loader (IIFE, global `edgePersonalize`), no tfjs;
 * - `edge-personalize.mjs`       the ESM entry (same code, for bundlers);
 * - `edge-personalize.worker.js` the module Worker (store, session state, comlink);
 * - `edge-personalize.vitals.js` web-vitals + the SDK's cost report, loaded only for `onVitals`;
 * - `edge-personalize.on-demand.js` framework lists (`rankItems`) and device data without a Worker, on first use;
 * - `edge-personalize.federated.js`, `.tokens.js`, `.secure.js`  the round client and training, the
 *                                participation-token client, the secure-report code (HPKE): the
 *                                Worker imports them at a contribution, the last two only when the
 *                                server asks for tokens or secure aggregation;
 * - `edge-personalize.ml*.js`    tfjs-core + the model (`ml`), and one chunk per backend
 *                                (`ml-webgl`, `ml-wasm`, `ml-cpu`): only the Worker imports them, each when needed;
 * - `tfjs-backend-wasm*.wasm`    the wasm backend's binaries, beside the Worker;
 * - `react/index.mjs`            the React binding (`edge-personalize/react`): imports `react` and
 *                                the package's own ESM entry, both left to the app's bundler;
 * - `server/cli.js`              the aggregation server for Node (the package's `bin`), no TypeScript
 *                                at run time: Node built-ins and `dependencies` stay imports;
 * - `types/`                     `.d.ts` files (from `tsc -p tsconfig.build.json`, which runs first);
 * - `index.d.ts`, `react/index.d.ts`  the published types: `types/` bundled into one file per entry,
 *                                holding only what the public API references (no tfjs types).
 * Every bundle has a source map. Internal `_` properties are mangled in the loader bundles only
 * (tfjs has its own `_` properties).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import type { Plugin, RollupOptions } from 'rollup';
import { dts } from 'rollup-plugin-dts';

const ts = () => typescript({ tsconfig: './tsconfig.build.json', sourceMap: true, outDir: undefined, declaration: false });
const resolve = () => nodeResolve({ browser: true });

const loaderTerser = () =>
  terser({ ecma: 2020, compress: { passes: 2 }, mangle: { properties: { regex: /^_/ } }, format: { comments: false } });

/** Sets src/worker/testBuild.ts's TEST_BUILD (false for sites: the code it guards is removed). */
const testBuildFlag = (on: boolean): Plugin => ({
  name: 'test-build-flag',
  transform(code, id) {
    if (!id.endsWith('/src/worker/testBuild.ts')) return null;
    const out = code.replace(
      /typeof __EDGE_PERSONALIZE_TEST_BUILD__ !== 'undefined' && __EDGE_PERSONALIZE_TEST_BUILD__ === true/,
      String(on),
    );
    if (out === code) throw new Error('build: src/worker/testBuild.ts no longer has the expression to replace');
    return { code: out, map: null };
  },
});

/** Copies the wasm backend's binaries next to the Worker, where it looks for them. */
const copyWasm = (dir = 'dist'): Plugin => ({
  name: 'copy-wasm',
  writeBundle() {
    mkdirSync(dir, { recursive: true });
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
      copyFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `${dir}/${f}`);
    }
  },
});

/** The React binding imports the SDK as `edge-personalize`, so an app holds one SDK instance. */
const sdkAsPackage = (): Plugin => ({
  name: 'sdk-as-package',
  resolveId(source, importer) {
    if (/\/(src|dist\/types)\/react\//.test(importer ?? '') && source === '../index') return { id: 'edge-personalize', external: true };
    return null;
  },
});

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
/** What the server bundle imports at run time instead of bundling: Node's modules and the package's dependencies. */
const nodeExternal = (id: string): boolean =>
  id.startsWith('node:') ||
  builtinModules.includes(id) ||
  Object.keys(pkg.dependencies).some((dep) => id === dep || id.startsWith(`${dep}/`));

/**
 * The Worker build: `dist/` for sites, and `dist-test/` (`npm run build:test`) for the e2e test
 * that reads a secure report's values before masking (src/worker/testBuild.ts).
 */
const workerBuild = (dir: string, testBuild: boolean): RollupOptions => ({
  // The SDK's Worker, and the Workers it starts for one participation token (participationTokenWorker.ts)
  // and for one contribution's training (src/federated/contribution/trainingWorker.ts).
  input: {
    'edge-personalize.worker': 'src/worker/workerEntry.ts',
    'edge-personalize.tokens-worker': 'src/federated/participationTokenWorker.ts',
    'edge-personalize.training-worker': 'src/federated/contribution/trainingWorker.ts',
  },
  output: {
    dir,
    format: 'es',
    sourcemap: true,
    entryFileNames: '[name].js',
    chunkFileNames: 'edge-personalize.[name].js',
    // tfjs-core + the model code, and one chunk per backend (imported only when tried).
    manualChunks(id) {
      // The CommonJS interop helpers, shared by tfjs' CJS dependencies and the token code (in the
      // SDK's Worker and in the token Worker): a tiny chunk of their own, so neither loads the other.
      if (id.includes('commonjsHelpers')) return 'cjs-helpers';
      // The token Worker's entry stays an entry (a manual chunk holding it would become it).
      if (id.includes('/src/federated/participationTokenWorker')) return undefined;
      if (id.includes('/src/federated/contribution/trainingWorker')) return undefined;
      // base64url, used by the token code and the secure-report code: in neither's chunk.
      if (id.includes('/src/federated/base64Url')) return 'cjs-helpers';
      if (id.includes('tfjs-backend-webgl')) return 'ml-webgl';
      if (id.includes('tfjs-backend-wasm')) return 'ml-wasm';
      if (id.includes('tfjs-backend-cpu')) return 'ml-cpu';
      if (/tfjs-core|node_modules\/(long|seedrandom)\/|\/src\/worker\/mlRuntime/.test(id)) return 'ml';
      // src/model/tfjs/ needs tfjs and ships with it; src/model/plain/ (file format, quantization,
      // the plain-JS first rank) stays out of it, so the Worker reads the model's files and
      // answers the first rank while tfjs loads.
      if (id.includes('/src/model/tfjs/')) return 'ml';
      if (id.includes('/src/model/plain/')) return 'model-format';
      // The SDK's named errors, used by every chunk and the three Workers: with the plain model code.
      if (id.includes('/src/errors')) return 'model-format';
      // Secure reports (additive shares with SHAKE128, the seed sealed by HPKE): loaded only when
      // the aggregation server announces secure aggregation, at a contribution.
      if (/\/src\/federated\/secureAggregation\/|node_modules\/@(hpke|noble)\//.test(id)) return 'secure';
      // Participation tokens (Privacy Pass: blind RSA, TLS-style encodings): loaded only when the
      // aggregation server asks for tokens, at the first contribution.
      if (/\/src\/federated\/participation|node_modules\/(@cloudflare|asn1|asn1js|pvtsutils|pvutils|quicvarint|rfc4648|sjcl)\//.test(id))
        return 'tokens';
      // Federated learning (the contribution flow, local training, update encoding): loaded on first contribution.
      if (/\/src\/federated\/(?!federatedState)/.test(id)) return 'federated';
      return undefined;
    },
  },
  plugins: [testBuildFlag(testBuild), resolve(), commonjs(), ts(), terser({ ecma: 2020, format: { comments: false } }), copyWasm(dir)],
  onwarn(warning, warn) {
    // tfjs' bundled dependencies use `this` at module level and eval-free globals; harmless.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    // @hpke/common's bundled noble code has pure annotations where Rollup ignores them; harmless.
    if (warning.code === 'INVALID_ANNOTATION' && /node_modules\/@hpke\//.test(warning.id ?? '')) return;
    // A cycle between chunks means a tfjs-free chunk (model-format) imports the ml chunk: the
    // Worker's first rank would then wait for tfjs. Fail the build instead of warning.
    if (/Circular chunk/.test(warning.message) && !process.env.ALLOW_CYCLE) throw new Error(`build: ${warning.message}`);
    warn(warning);
  },
});

const config: RollupOptions[] = [
  {
    input: 'src/loader/scriptTag.ts',
    output: { file: 'dist/edge-personalize.js', format: 'iife', sourcemap: true },
    plugins: [resolve(), ts(), loaderTerser()],
  },
  {
    input: 'src/index.ts',
    output: { file: 'dist/edge-personalize.mjs', format: 'es', sourcemap: true },
    plugins: [resolve(), ts(), loaderTerser()],
  },
  {
    // The install snippet as a module (`edge-personalize/snippet`), for sites that render it server-side;
    // kept out of the ESM entry so the entry stays within the loader's budget.
    input: 'src/loader/snippet.ts',
    output: { file: 'dist/snippet.mjs', format: 'es' },
    plugins: [ts()],
  },
  {
    // What no first rank needs (framework lists, device data without a Worker), loaded on first use.
    input: 'src/sdk/onDemand.ts',
    output: { file: 'dist/edge-personalize.on-demand.js', format: 'es', sourcemap: true },
    plugins: [resolve(), ts(), loaderTerser()],
  },
  {
    // web-vitals and the SDK's cost report, loaded by the SDK only when a site passes onVitals.
    input: 'src/vitals/vitalsEntry.ts',
    output: { file: 'dist/edge-personalize.vitals.js', format: 'es', sourcemap: true },
    plugins: [resolve(), ts(), loaderTerser()],
  },
  workerBuild('dist', false),
  {
    input: 'src/react/index.ts',
    output: { file: 'dist/react/index.mjs', format: 'es', sourcemap: true },
    external: ['react'],
    plugins: [sdkAsPackage(), ts(), terser({ ecma: 2020, format: { comments: false } })],
  },
  { input: 'dist/types/index.d.ts', output: { file: 'dist/index.d.ts', format: 'es' }, plugins: [dts()] },
  { input: 'dist/types/loader/snippet.d.ts', output: { file: 'dist/snippet.d.ts', format: 'es' }, plugins: [dts()] },
  {
    input: 'dist/types/react/index.d.ts',
    output: { file: 'dist/react/index.d.ts', format: 'es' },
    external: ['react'],
    plugins: [sdkAsPackage(), dts()],
  },
  {
    input: 'src/server/cli.ts',
    output: { file: 'dist/server/cli.js', format: 'es', sourcemap: true, banner: '#!/usr/bin/env node' },
    external: nodeExternal,
    plugins: [
      nodeResolve({ preferBuiltins: true }),
      typescript({
        tsconfig: './tsconfig.json',
        noEmit: false,
        sourceMap: true,
        outDir: undefined,
        declaration: false,
        include: ['src/**/*.ts'],
      }),
    ],
  },
];

// `npm run build:test` (EDGE_PERSONALIZE_TEST_BUILD=1): the test build of the Worker alone.
export default process.env.EDGE_PERSONALIZE_TEST_BUILD === '1' ? [workerBuild('dist-test', true)] : config;
