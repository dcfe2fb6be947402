/**
 * Real headless Chromium for the console's browser tests: Debian's `chromium` (scripts/install-chromium.sh installs
 * it; CHROMIUM_PATH overrides the path) driven by playwright-core, a fresh profile per launch, and no traffic of its
 * own (these machines reach nothing but package registries). Per page: every console error and uncaught exception is
 * collected; axe-core runs inside the page (evaluated over the DevTools protocol, so the console's strict CSP, which
 * allows no injected script element, does not block it); full-page screenshots go under test-results/screenshots/
 * (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { ROOT } from './processes';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(ROOT, 'test-results', 'screenshots');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium (playwright-core gives each launch a fresh temporary profile and removes it on close). Fails
 * with the way to install it when the browser is missing.
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: run bash scripts/install-chromium.sh (as root, or with sudo), or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}

/** Builds the console (src/console → dist/console) when missing or older than its sources, as scripts/setup.sh does. */
export function buildConsoleIfStale(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-console.mjs'), '--if-stale', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
}

/** Console errors and uncaught exceptions seen by the pages of a context, each with the URL it was seen on. */
export class BrowserErrors {
  readonly seen: string[] = [];
  /** Errors matching one of these are expected (a refused save logs the refused request): counted apart. */
  private readonly expected: RegExp[] = [];
  readonly expectedSeen: string[] = [];

  watch(page: Page): void {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') this.record(`console error on ${page.url()}: ${message.text()}${locationOf(message)}`);
    });
    page.on('pageerror', (error: Error) => this.record(`uncaught exception on ${page.url()}: ${error.stack ?? error.message}`));
  }

  /** Runs `action`, taking errors matching `pattern` seen meanwhile as expected. */
  async expecting<T>(pattern: RegExp, action: () => Promise<T>): Promise<T> {
    this.expected.push(pattern);
    try {
      return await action();
    } finally {
      this.expected.splice(this.expected.indexOf(pattern), 1);
    }
  }

  /** Throws naming every unexpected error since the last call, then forgets them. */
  assertNone(where: string): void {
    const errors = this.seen.splice(0);
    if (errors.length > 0) throw new Error(`browser errors ${where}:\n${errors.join('\n')}`);
  }

  private record(text: string): void {
    if (this.expected.some((p) => p.test(text))) this.expectedSeen.push(text);
    else this.seen.push(text);
  }
}

function locationOf(message: ConsoleMessage): string {
  const l = message.location();
  return l.url === '' ? '' : ` (${l.url}:${l.lineNumber})`;
}

/** A new context (its own cookies and storage: a separate person) with its errors watched. */
export async function newPerson(browser: Browser, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: BrowserErrors }> {
  const context = await browser.newContext({ viewport });
  // No deadline of Playwright's own: a wait lasts until its condition holds or mocha's timeout ends the test.
  context.setDefaultTimeout(0);
  const errors = new BrowserErrors();
  context.on('page', (p) => errors.watch(p));
  const page = await context.newPage();
  return { context, page, errors };
}

let axeSource: string | undefined;

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/**
 * Runs axe-core on the page as it is now (WCAG 2.x A/AA and best-practice rules) and throws, listing each one, when a
 * serious or critical violation is found. Returns every violation (minor and moderate included) for the curious.
 */
export async function assertAccessible(page: Page, screen: string): Promise<AxeViolation[]> {
  axeSource ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (loaded !== true) await page.evaluate(axeSource);
  const violations = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`)) as AxeViolation[];
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (grave.length > 0) {
    const lines = grave.flatMap((v) => [
      `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`,
      ...v.nodes.slice(0, 5).map((n) => `    at ${JSON.stringify(n.target)}: ${n.html.slice(0, 200)}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`),
    ]);
    throw new Error(`axe-core found ${grave.length} serious or critical accessibility violation(s) on ${screen}:\n${lines.join('\n')}`);
  }
  return violations;
}

/** A full-page screenshot, test-results/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}
