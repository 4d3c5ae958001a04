import { request, FullConfig } from '@playwright/test';
import { mkdirSync } from 'fs';

/** Signs the e2e admin in through the API and keeps the session cookie for the tests. */
export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL as string;
  const email = process.env.E2E_EMAIL;
  const password = process.env.E2E_PASSWORD;
  if (!email || !password) throw new Error('E2E_EMAIL / E2E_PASSWORD are not set: run the browser tests through `make test`');
  const context = await request.newContext({ baseURL });
  const response = await context.post('/api/v1/session', { data: { email, password } });
  if (response.status() !== 200) throw new Error(`signing in the e2e admin failed: ${response.status()} ${await response.text()}`);
  mkdirSync('.auth', { recursive: true });
  await context.storageState({ path: '.auth/admin-session.json' });
  await context.dispose();
}
