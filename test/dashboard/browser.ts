import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

// Debian's Chromium driven by playwright-core (which downloads no browser of its own), headless,
// with nothing of its own reaching the network. Each page records what it logs as errors and
// every request it makes.

const flags = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** Where Chromium is: SKULD_CHROMIUM, else `chromium` on the PATH. */
export function chromiumPath(): string {
  const given = process.env.SKULD_CHROMIUM;
  if (given !== undefined && given !== '') return given;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export async function launchChromium(): Promise<Browser> {
  const path = chromiumPath();
  if (path === '' || !existsSync(path)) {
    throw new Error(
      "Chromium not found: the dashboard's tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it), or SKULD_CHROMIUM naming a Chromium binary",
    );
  }
  return chromium.launch({ executablePath: path, headless: true, args: flags });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions, in order. */
  readonly errors: string[];
  /** Every URL the page asked for. */
  readonly requests: string[];
}

export async function openDashboard(
  browser: Browser,
  base: string,
  key: string,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1366, height: 900 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`${base}/dashboard`);
  await page.fill('input[name=key]', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-chart=throughput]');
  return { page, errors, requests };
}
