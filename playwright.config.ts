import { defineConfig } from '@playwright/test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real-Chromium tests against the built bundles in `dist/` (run `npm run build` first; `npm test`
 * does). Chromium comes from Debian (`/usr/bin/chromium`, installed by `.ci/run`): Playwright
 * cannot download browsers here. Launch flags from PLATFORM.md keep Chromium off the internet.
 */
export const chromiumLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

/** Ports of the fixture server and the demo shop; `E2E_PORT` moves both (parallel runs). */
const port = Number(process.env.E2E_PORT ?? 4873);
const demoPort = port + 1;
// Read by the demo tests (Playwright loads this file in every test worker).
process.env.DEMO_ORIGIN = `http://127.0.0.1:${demoPort}`;

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.e2e.ts',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: chromiumLaunch,
    viewport: { width: 1000, height: 700 },
  },
  webServer: [
    {
      command: 'npx tsx test/e2e/testServer.ts',
      url: `http://127.0.0.1:${port}/recs.html`,
      reuseExistingServer: false,
      env: { PORT: String(port) },
    },
    {
      // The demo shop exactly as `npm run demo` serves it (without rebuilding: `dist/` is fresh).
      command: 'npx tsx demo/serve.ts',
      url: `http://127.0.0.1:${demoPort}/`,
      reuseExistingServer: false,
      // A fresh aggregation-server store per run, and rounds that close after every update.
      env: {
        PORT: String(demoPort),
        HOST: '127.0.0.1',
        FL_DATA_DIR: join(tmpdir(), `edge-personalize-demo-fl-${process.pid}-${Date.now()}`),
        FL_ROUND_TARGET: '1',
      },
    },
  ],
});
