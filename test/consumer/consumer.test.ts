/**
 * `npm run test:consumer` (the last step of `npm test`; needs `npm run build`): the package as a
 * site installs it. Packs the SDK and the demo model, installs both tarballs into a scratch app
 * outside the repository (react, react-dom, vite, rollup from npm, at the repository's versions so
 * npm's cache serves them), writes the README's snippets into it unchanged, builds it with Rollup,
 * with Vite, and as a React app, and loads each build in Chromium from a server that serves only
 * that build. Then runs `npx edge-personalize serve` from the installed tarball.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from '@playwright/test';
import { chromiumLaunch } from '../../playwright.config';
import {
  fixtureProducts,
  HARNESS_JS,
  REACT_HTML,
  REACT_MAIN,
  REACT_VITE_CONFIG,
  reactApp,
  ROLLUP_CONFIG,
  slotPage,
  type Product,
} from './apps';
import { readmeBlocks, readmeCommand, readmeFile } from './readme';
import { serveDir } from './staticServer';

const repo = resolve(import.meta.dirname, '../..');
const scratch = join(tmpdir(), `edge-personalize-consumer-${process.pid}-${Date.now()}`);
const shared = join(scratch, 'shared');
const blocks = readmeBlocks(join(repo, 'README.md'));
const products: Product[] = fixtureProducts(join(repo, 'test/e2e/pages/recs.html'));
const CHRISTMAS = products.filter((p) => p.category === 'Christmas').map((p) => p.id);
/** Christmas products of the demo catalogue (as in loop.e2e.ts). */
const CHRISTMAS_VIEWS = ['22578', '22577', '22086'];
const MB = 1_000_000;
const UNPACKED_BUDGET = 3 * MB;

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
/** A README command line, run by the shell in `cwd`. */
const sh = (line: string, cwd: string): string => run('bash', ['-c', line], cwd);
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string; size: number }>;
}
const pack = (dir: string): Packed => {
  const out = run('npm', ['pack', '--json', '--pack-destination', scratch, dir], repo);
  return (JSON.parse(out) as Packed[])[0]!;
};

/** A scratch app folder: its own package.json, the shared install as its node_modules. */
function app(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  symlinkSync(join(shared, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

let browser: Browser;
let sdkPack: Packed;
const timings: Record<string, number> = {};
const t0 = Date.now();

before(async () => {
  assert.ok(existsSync(join(repo, 'dist/server/cli.js')), 'run `npm run build` first');
  mkdirSync(shared, { recursive: true });
  sdkPack = pack(repo);
  const modelPack = pack(join(repo, 'models/online-retail'));
  // The README's install line, with the tarballs in place of the registry's packages.
  readmeCommand(blocks, 'npm install edge-personalize');
  readmeCommand(blocks, 'npm install edge-personalize edge-personalize-demo-model');
  const dev = ['react', 'react-dom', 'vite', '@vitejs/plugin-react', 'rollup', '@rollup/plugin-node-resolve'];
  writeFileSync(
    join(shared, 'package.json'),
    JSON.stringify({
      name: 'consumer-shared',
      private: true,
      type: 'module',
      dependencies: {
        'edge-personalize': `file:${join(scratch, sdkPack.filename)}`,
        'edge-personalize-demo-model': `file:${join(scratch, modelPack.filename)}`,
        ...Object.fromEntries(dev.map((d) => [d, versionOf(d)])),
      },
    }),
  );
  const t = Date.now();
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], shared);
  timings.install = Date.now() - t;
  browser = await chromium.launch(chromiumLaunch);
});

after(async () => {
  await browser?.close();
  if (!process.env.KEEP_CONSUMER) rmSync(scratch, { recursive: true, force: true });
  console.log(
    `consumer test: ${((Date.now() - t0) / 1000).toFixed(1)} s in all (npm install ${(timings.install! / 1000).toFixed(1)} s); scratch ${scratch}`,
  );
});

type Harness = {
  consent(s: string): void;
  track(t: string, p: { itemId: string }): void;
  status(): Promise<{
    worker: { ready: boolean; storedEvents: number; backend: { name: string } | null } | null;
    slots: { ranked: number; kept: number };
  }>;
};
const harness = (page: Page) =>
  page.waitForFunction(() => typeof (window as unknown as { harness?: Harness }).harness?.status === 'function');
const status = (page: Page) => page.evaluate(() => (window as unknown as { harness: Harness }).harness.status());
async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const meanPosition = (order: string[], ids: string[]): number => {
  const at = order.map((id, i) => (ids.includes(id) ? i : -1)).filter((i) => i >= 0);
  return at.reduce((a, b) => a + b, 0) / at.length;
};

/** Grants consent, waits for the model, and records views in the page. */
async function browseAndView(page: Page, origin: string, views: string[]): Promise<void> {
  await page.goto(`${origin}/`);
  await harness(page);
  await page.evaluate(() => (window as unknown as { harness: Harness }).harness.consent('granted'));
  await waitFor(
    'the Worker and its model',
    () => status(page),
    (s) => s.worker?.ready === true,
  );
  for (const itemId of views)
    await page.evaluate((itemId) => (window as unknown as { harness: Harness }).harness.track('view', { itemId }), itemId);
  await waitFor(
    'the views to be stored',
    () => status(page),
    (s) => s.worker?.storedEvents === views.length,
  );
}

/** The Rollup and Vite apps: a slot of the fixture's products, README's main.js, a test harness; the slot is ranked on the next page. */
async function checkSlotApp(outDir: string): Promise<void> {
  const server = await serveDir(outDir);
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  try {
    await browseAndView(page, server.origin, CHRISTMAS_VIEWS);
    const before = await page.$$eval('#recs > *', (els) => els.map((e) => e.getAttribute('data-personalize-item')!));
    // The next page ranks the slot before its 300 ms deadline, from the saved session; on this
    // shared 2-core machine a page may miss it (shown in its own order, 'timeout'): up to 3 pages.
    let shown: string | null = null;
    for (let attempt = 0; attempt < 3 && shown !== 'ranked'; attempt++) {
      await page.reload();
      await harness(page);
      await page.waitForSelector('#recs[data-personalize-shown]');
      shown = await page.getAttribute('#recs', 'data-personalize-shown');
      if (shown !== 'ranked') console.log(`slot shown as ${shown} (page ${attempt + 1})`);
    }
    const after = await page.$$eval('#recs > *', (els) => els.map((e) => e.getAttribute('data-personalize-item')!));
    assert.equal(shown, 'ranked', 'the slot is ranked on the next page');
    assert.ok(meanPosition(after, CHRISTMAS) < meanPosition(before, CHRISTMAS), `Christmas moves up: ${after.join(' ')}`);
    const s = await waitFor(
      'the wasm backend',
      () => status(page),
      (x) => x.worker?.backend?.name === 'wasm',
    );
    assert.equal(s.worker!.backend!.name, 'wasm');
    const paths = server.log.filter((r) => r.status === 200).map((r) => r.path);
    assert.ok(paths.includes('/edge-personalize/edge-personalize.worker.js'), `the Worker from the app's output: ${paths.join(' ')}`);
    assert.ok(paths.includes('/edge-personalize/tfjs-backend-wasm-simd.wasm'), `the wasm binary from the app's output: ${paths.join(' ')}`);
    assert.ok(paths.includes('/edge-personalize/edge-personalize.ml-wasm.js'), 'the wasm backend chunk');
    assert.deepEqual(
      server.log.filter((r) => r.status !== 200),
      [],
      'every request of the page and its Worker is served',
    );
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await server.close();
  }
}

describe('the package as a site installs it', () => {
  it('the SDK tarball holds only what a site or a server needs, within 3 MB unpacked', () => {
    const paths = sdkPack.files.map((f) => f.path);
    const unexpected = paths.filter((p) => !/^(package\.json|README\.md|dist\/.+)$/.test(p));
    assert.deepEqual(unexpected, []);
    assert.ok(!paths.some((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts')), 'no TypeScript sources');
    for (const f of [
      'dist/edge-personalize.js',
      'dist/edge-personalize.mjs',
      'dist/edge-personalize.worker.js',
      'dist/edge-personalize.ml.js',
      'dist/tfjs-backend-wasm-simd.wasm',
      'dist/index.d.ts',
      'dist/react/index.d.ts',
      'dist/react/index.mjs',
      'dist/server/cli.js',
    ])
      assert.ok(paths.includes(f), f);
    assert.ok(sdkPack.unpackedSize <= UNPACKED_BUDGET, `unpacked ${sdkPack.unpackedSize} B > ${UNPACKED_BUDGET} B`);
    console.log(`packed ${sdkPack.size} B, unpacked ${sdkPack.unpackedSize} B, ${paths.length} files`);
  });

  it('types: the entry and edge-personalize/react type-check in an app (moduleResolution bundler, skipLibCheck off)', () => {
    const dir = app('types-app', {
      'index.ts': `import { init, rankItems, type RankItemsOptions } from 'edge-personalize';
import { useRankedItems } from 'edge-personalize/react';
const options: RankItemsOptions = { timeoutMs: 100 };
init({ modelUrl: '/m/model.json' });
const order: Promise<string[]> = rankItems('recommended', ['a'], options);
const hook: (label: string, ids: string[]) => { items: string[]; ready: boolean } = useRankedItems;
export { order, hook };
`,
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'ESNext',
          moduleResolution: 'Bundler',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          skipLibCheck: false,
          types: [],
        },
        files: ['index.ts'],
      }),
    });
    run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
  });

  it('Rollup: README main.js + the assets command; the slot is ranked with the Worker and wasm from the app output', async () => {
    const dir = app('rollup-app', {
      'src/main.js': readmeFile(blocks, '// src/main.js'),
      'src/harness.js': HARNESS_JS,
      'rollup.config.mjs': ROLLUP_CONFIG,
    });
    run(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', '--silent'], dir);
    sh(readmeCommand(blocks, 'npx edge-personalize assets dist/edge-personalize'), dir);
    sh('mkdir -p dist/models && cp -r node_modules/edge-personalize-demo-model dist/models/shop', dir);
    writeFileSync(join(dir, 'dist/index.html'), slotPage(products, ['/main.js', '/harness.js']));
    await checkSlotApp(join(dir, 'dist'));
  });

  it('Vite: README main.js + the assets command into public/; the slot is ranked with the Worker and wasm from the app output', async () => {
    const dir = app('vite-app', {
      'src/main.js': readmeFile(blocks, '// src/main.js'),
      'src/harness.js': HARNESS_JS,
      'index.html': slotPage(products, ['/src/main.js', '/src/harness.js']),
    });
    sh(readmeCommand(blocks, 'npx edge-personalize assets public/edge-personalize'), dir);
    sh(readmeCommand(blocks, 'mkdir -p public/models && cp -r node_modules/edge-personalize-demo-model public/models/shop'), dir);
    const out = run(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], dir);
    assert.doesNotMatch(out, /warn|cannot be analyzed/i, out);
    // Vite must not have copied the Worker on its own under a hashed name (it would lack its chunks).
    assert.deepEqual(
      readdirSync(join(dir, 'dist/assets')).filter((f) => f.includes('worker')),
      [],
    );
    await checkSlotApp(join(dir, 'dist'));
  });

  it('React: the README component, unchanged, is personalized after a few views; no React warning; no node moved but by React', async () => {
    const dir = app('react-app', {
      'src/main.js': readmeFile(blocks, '// src/main.js'),
      'src/RecommendedList.jsx': readmeFile(blocks, '// src/RecommendedList.jsx'),
      'src/App.jsx': reactApp(products),
      'src/main.jsx': REACT_MAIN,
      'index.html': REACT_HTML,
      'vite.config.js': REACT_VITE_CONFIG,
    });
    sh(readmeCommand(blocks, 'npx edge-personalize assets public/edge-personalize'), dir);
    sh(readmeCommand(blocks, 'mkdir -p public/models && cp -r node_modules/edge-personalize-demo-model public/models/shop'), dir);
    // React's development build: the one that warns.
    run(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], dir, { NODE_ENV: 'development' });
    const bundle = readdirSync(join(dir, 'dist/assets'))
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dir, 'dist/assets', f), 'utf8'))
      .join('\n');
    assert.match(bundle, /Each child in a list should have a unique/, "React's development build");

    const server = await serveDir(join(dir, 'dist'));
    const page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') consoleLines.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    const listOrder = (which: string) => page.$$eval(`#${which} li`, (els) => els.map((e) => e.getAttribute('data-personalize-item')!));
    try {
      await page.goto(`${server.origin}/`);
      await harness(page);
      await page.evaluate(() => (window as unknown as { harness: Harness }).harness.consent('granted'));
      await waitFor(
        'the Worker and its model',
        () => status(page),
        (s) => s.worker?.ready === true,
      );
      const given = products.map((p) => p.id);
      assert.deepEqual(await listOrder('top'), given, 'no history: the given order');

      // A click on a tile (auto-tracked on React's markup), then product pages (views).
      await page.click('#top li:first-child a');
      await page.waitForURL(/\/product\//);
      await harness(page);
      await waitFor(
        'the click and the view',
        () => status(page),
        (s) => (s.worker?.storedEvents ?? 0) >= 2,
      );
      let stored = (await status(page)).worker!.storedEvents;
      for (const id of CHRISTMAS_VIEWS) {
        await page.goto(`${server.origin}/product/${id}`);
        await harness(page);
        stored = (
          await waitFor(
            'the view',
            () => status(page),
            (s) => (s.worker?.storedEvents ?? 0) > stored,
          )
        ).worker!.storedEvents;
      }
      // As for slots: the first order must come by its deadline, which a loaded machine can miss
      // (the list then shows the given order): up to 3 pages.
      let top: string[] = given;
      for (let attempt = 0; attempt < 3 && top.join() === given.join(); attempt++) {
        await page.goto(`${server.origin}/`);
        await harness(page);
        await page.waitForFunction(() => getComputedStyle(document.querySelector('#top ul')!).visibility === 'visible');
        top = await listOrder('top');
        if (top.join() === given.join()) console.log(`list shown in the given order (page ${attempt + 1})`);
      }
      assert.notDeepEqual(top, given, 'personalized');
      assert.deepEqual([...top].sort(), [...given].sort(), 'the same items');
      assert.ok(meanPosition(top, CHRISTMAS) < meanPosition(given, CHRISTMAS), `Christmas moves up: ${top.join(' ')}`);

      // One more view on this page: the list far below the fold takes the new order (it is off
      // screen), the one on screen keeps its order.
      const below = await listOrder('below');
      await page.evaluate(() => {
        for (const itemId of ['22961', '22960', '22666']) (window as unknown as { harness: Harness }).harness.track('view', { itemId });
      });
      await waitFor(
        'the list below the fold to change',
        () => listOrder('below'),
        (o) => o.join() !== below.join(),
      );
      assert.deepEqual(await listOrder('top'), top, 'the list on screen does not move');

      const probe = await page.evaluate(() => {
        const w = window as unknown as { __foreign: string[]; __reactMutations: number };
        return { foreign: w.__foreign, react: w.__reactMutations, shown: document.querySelectorAll('[data-personalize-shown]').length };
      });
      assert.ok(probe.react > 0, 'the probe sees React commits');
      assert.deepEqual(probe.foreign, [], 'no mutation of the React tree outside React commits');
      assert.equal(probe.shown, 0, 'no element was handled as a slot');
      assert.deepEqual(consoleLines, [], 'no warning or error in the console');
      assert.deepEqual(
        server.log.filter((r) => r.status !== 200),
        [],
      );
    } finally {
      await page.close();
      await server.close();
    }
  });

  it('SSR: the hook renders the given order on the server (react-dom/server, Node)', () => {
    const dir = app('ssr-app', {
      'ssr.mjs': `import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { useRankedItems } from 'edge-personalize/react';
function List() {
  const { items, ready } = useRankedItems('recommended', ['a', 'b', 'c']);
  return h('ul', { 'data-ready': String(ready) }, items.map((id) => h('li', { key: id }, id)));
}
console.log(renderToString(h(List)));
`,
    });
    assert.equal(run(process.execPath, ['ssr.mjs'], dir).trim(), '<ul data-ready="false"><li>a</li><li>b</li><li>c</li></ul>');
  });

  it('npx edge-personalize serve (the README line) answers /v1/model; --help; a bad option exits 2 with one line', async () => {
    const dir = app('server-app', {});
    const help = sh('npx edge-personalize serve --help', dir);
    assert.match(help, /--model DIR/);
    assert.match(help, /--base-path PATH/);
    let bad: { status: number | null; stderr: string } = { status: 0, stderr: '' };
    try {
      sh('npx edge-personalize serve --prot 8787', dir);
    } catch (e) {
      bad = e as { status: number; stderr: string };
    }
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), 'server: unknown option --prot');

    const line = readmeCommand(
      blocks,
      'npx edge-personalize serve --model node_modules/edge-personalize-demo-model --data /var/lib/edge-personalize --port 8787 --base-path /fl',
    );
    const data = join(scratch, 'server-data');
    const child: ChildProcess = spawn(
      'bash',
      ['-c', line.replace('/var/lib/edge-personalize', data).replace('--port 8787', '--port 0')],
      // Its own process group: npx runs the bin in a child process, and both must stop.
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+\/v1\/model)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
        setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000).unref();
      });
      assert.match(url, /\/fl\/v1\/model$/);
      // node:http without keep-alive: a pooled connection would hold this process open for a while.
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) =>
        httpGet(url, { agent: false }, (r) => {
          let text = '';
          r.on('data', (d: Buffer) => (text += d.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        }).on('error', reject),
      );
      assert.equal(res.status, 200);
      const body = JSON.parse(res.text) as { modelVersion: string; round: { id: string } };
      assert.equal(body.modelVersion, JSON.parse(readFileSync(join(repo, 'models/online-retail/model.json'), 'utf8')).modelVersion);
      assert.equal(body.round.id, '1');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
      child.stdout!.destroy();
      child.stderr!.destroy();
    }
  });
});
