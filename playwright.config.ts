import { defineConfig } from '@playwright/test';

/**
 * Real-Chromium tests against the built bundles in `dist/` (run `npm run build` first; `npm test`
 * does). Chromium comes from Debian (`/usr/bin/chromium`, installed by `.ci/run`): Playwright
 * cannot download browsers here. Launch flags from PLATFORM.md keep Chromium off the internet.
 */
export const chromiumLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
};

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.e2e.ts',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: 'http://127.0.0.1:4873',
    launchOptions: chromiumLaunch,
    viewport: { width: 1000, height: 700 },
  },
  webServer: [
    {
      command: 'npx tsx test/e2e/testServer.ts',
      url: 'http://127.0.0.1:4873/recs.html',
      reuseExistingServer: false,
      env: { PORT: '4873' },
    },
    {
      // The demo shop exactly as `npm run demo` serves it (without rebuilding: `dist/` is fresh).
      command: 'npx tsx demo/serve.ts',
      url: 'http://127.0.0.1:4874/',
      reuseExistingServer: false,
      env: { PORT: '4874', HOST: '127.0.0.1' },
    },
  ],
});
