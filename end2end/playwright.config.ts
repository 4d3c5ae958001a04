import { defineConfig } from '@playwright/test';

// Started by scripts/test.sh, which builds the release binary, prepares a fresh database, an
// ingest token and an admin account, and exports: AUDITORIUM_BIN, E2E_DATABASE_URL, E2E_PORT,
// E2E_TOKEN, E2E_EMAIL, E2E_PASSWORD. The global setup signs the admin in; tests use that
// session unless they start their own context.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  globalSetup: './global-setup.ts',
  outputDir: 'test-results',
  use: {
    baseURL,
    storageState: '.auth/admin-session.json',
    viewport: { width: 1280, height: 720 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `${process.env.AUDITORIUM_BIN} serve --addr 127.0.0.1:${port}`,
    url: `${baseURL}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? '',
      AUDITORIUM_SITE_ROOT: process.env.AUDITORIUM_SITE_ROOT ?? '../target/site',
      RUST_LOG: 'warn',
    },
  },
});
