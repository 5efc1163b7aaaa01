import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's chromium (.ci/run installs it when missing: scripts/services.sh). */
export const CHROMIUM = process.env.BFLOW_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** One screenshot per console page, git-ignored. */
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

/** The flags the console tests run chromium with (Playwright adds --headless and --user-data-dir itself). */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless chromium with a fresh profile; the page's console errors and failed requests are collected. */
export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and `console.error` lines: a test expects none. */
  pageErrors: string[];
  /** Saves `<name>.png` under test/console/screenshots/. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (scripts/services.sh does it)`);
  const profile = mkdtempSync(join(tmpdir(), 'bflow-console-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // A 401/4xx the page handles is logged by chromium as a failed resource; those are expected.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });
  return {
    context,
    page,
    pageErrors,
    screenshot: async (name) =>
      void (await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })),
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The console freshly loaded with `token` as the session's (none: signed out). */
export async function loadWithSession(page: Page, baseUrl: string, token?: string, hash = '#/inbox'): Promise<void> {
  await page.goto(`${baseUrl}/console/${hash}`);
  // Runs in the page (tsconfig has no DOM lib, hence the local type).
  await page.evaluate((t) => {
    const { sessionStorage: store } = globalThis as unknown as {
      sessionStorage: { clear(): void; setItem(key: string, value: string): void };
    };
    if (t === undefined) store.clear();
    else store.setItem('bflow.console.token', t);
  }, token);
  await page.reload();
}

/** Signs in by pasting `token` on the sign-in page of `baseUrl`/console/. */
export async function signInWithToken(page: Page, baseUrl: string, token: string): Promise<void> {
  await loadWithSession(page, baseUrl);
  await page.getByLabel('Access token (JWT)').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
}
