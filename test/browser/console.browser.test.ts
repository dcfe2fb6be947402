/**
 * The operator console (issue 11) in real headless Chromium (Debian's `chromium`, driven by playwright-core), against
 * a real stack as a customer wires it: the API (serving the built console at /console/) and the worker (relay,
 * Temporal worker) in this process, PostgreSQL, Temporal, and the Smartlead simulator as the integration. The
 * organization runs in enforce mode with short thresholds (sustain 0, minimum sample 20), so a bounce storm on
 * sam@getdrason-mail.com really gets it paused by the engine (its cooldown is the default 6 h: it stays paused until
 * a person resumes it, which the test does through the console).
 *
 * Every screen is checked the same way (`checkScreen`): axe-core finds no serious or critical violation, the browser
 * logged no console error and threw nothing, and a full-page screenshot is saved under test-results/screenshots/
 * (git-ignored): desktop width for each screen, and 390 px (a phone) for the overview and the mailbox.
 *
 * No fixed sleeps: every wait is on a condition (Playwright's locator waits, or a poll of the API); the only bound is
 * mocha's timeout, and the step being waited for is printed when a test fails.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { seedDemoState } from '../../src/smartlead/simulator/seed';
import { callJson, organizationOnSimulator, startEngineStack, type EngineStack, type Json } from '../support/api';
import { assertAccessible, buildConsoleIfStale, launchChromium, newPerson, PHONE, DESKTOP, screenshot, type BrowserErrors } from '../support/browser';

const STORM = 'sam@getdrason-mail.com'; // simulator account 5002: bounces, gets paused by the engine
const HEALTHY = 'alex@getdrason-mail.com';
const CAMPAIGN = 1001;
const USER_UNKNOWN = '550 5.1.1 <nobody@prospect.example>: Recipient address rejected: User unknown in virtual mailbox table';
/** Where the API links workflows (nothing listens there: the test checks the link, not the Web UI). */
const TEMPORAL_UI = 'http://127.0.0.1:8233';
const RESUME_REASON = `List cleaned by the client, checked by hand (${crypto.randomBytes(3).toString('hex')})`;

/** The screens every role must pass axe and the error check on. */
const SCREENS = ['signin', 'overview', 'routing', 'mailboxes', 'mailbox', 'audit', 'settings'];

describe('operator console in headless Chromium (real stack, Smartlead simulator)', function () {
  this.timeout(180_000);
  let stack: EngineStack;
  let sim: SmartleadSimulator;
  let browser: Browser;
  let adminKey = '';
  let viewerKey = '';
  let organizationId = '';
  const platformToken = `platform-${crypto.randomUUID()}`;
  /** What the test is waiting for now: printed with a failure (no wait has a deadline of its own). */
  let step = 'starting';
  const checked = new Map<string, Set<string>>();
  const people: { context: BrowserContext; page: Page; errors: BrowserErrors }[] = [];

  const api = (method: string, path: string, token = adminKey, body?: unknown): Promise<{ status: number; json: Json }> => callJson(stack.apiUrl, method, path, token, body);

  /** Polls `fn` until it returns something other than undefined (errors count as not yet). */
  async function eventually<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
    step = what;
    for (;;) {
      const value = await fn().catch(() => undefined);
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Waits for a locator to be visible, saying what it waits for. */
  async function see(locator: Locator, what: string): Promise<Locator> {
    step = what;
    await locator.first().waitFor({ state: 'visible', timeout: 0 });
    return locator;
  }

  /** A loaded screen: no loading indicator left. */
  async function settled(page: Page): Promise<void> {
    step = `the screen at ${page.url()} to finish loading`;
    await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached', timeout: 0 });
  }

  /** axe (no serious or critical violation), no browser error, and a screenshot, for one screen as one role. */
  async function checkScreen(person: { page: Page; errors: BrowserErrors }, role: string, screen: string, options: { phone?: boolean } = {}): Promise<void> {
    const { page, errors } = person;
    await settled(page);
    step = `axe on the ${screen} screen (${role})`;
    await assertAccessible(page, `the ${screen} screen (${role})`);
    errors.assertNone(`on the ${screen} screen (${role})`);
    await screenshot(page, `${role}-${screen}`);
    if (options.phone === true) {
      await page.setViewportSize(PHONE);
      await assertAccessible(page, `the ${screen} screen (${role}, 390 px wide)`);
      await screenshot(page, `${role}-${screen}-phone`);
      await page.setViewportSize(DESKTOP);
    }
    errors.assertNone(`on the ${screen} screen (${role})`);
    const set = checked.get(role) ?? new Set<string>();
    set.add(screen);
    checked.set(role, set);
  }

  async function signIn(person: { page: Page }, key: string): Promise<void> {
    const { page } = person;
    await page.goto(`${stack.apiUrl}/console/`);
    await see(page.getByTestId('signin-key'), 'the sign-in form');
    await page.getByTestId('signin-key').fill(key);
    await page.getByTestId('signin-submit').click();
    await see(page.getByTestId('org-name'), 'the signed-in layout');
  }

  const go = async (page: Page, hash: string): Promise<void> => {
    step = `navigating to ${hash}`;
    await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
  };

  before(async function () {
    this.timeout(240_000);
    step = 'building the console';
    buildConsoleIfStale();
    step = 'launching Chromium';
    browser = await launchChromium();
    step = 'starting the stack';
    stack = await startEngineStack(platformToken, 'console-browser', { temporalUiUrl: TEMPORAL_UI });
    sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    seedDemoState(sim.state);
    await sim.start(0);
    step = 'wiring the organization to the simulator';
    ({ key: adminKey, organizationId } = await organizationOnSimulator(stack.apiUrl, platformToken, sim, {
      name: 'Browser Agency',
      mailboxes: 8,
      settings: { mode: 'enforce', thresholds: { sustainMinutes: 0, minSample: 20 } },
    }));
    const viewer = await api('POST', '/v1/api-keys', adminKey, { name: 'Read-only colleague', role: 'viewer' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.json));
    viewerKey = viewer.json.key;

    // Two Clay leads no rule matches: held, unrouted (the overview counts them).
    for (const [i, email] of ['cto@hooli.example', 'vp@initech.example'].entries()) {
      const lead = await api('POST', '/v1/webhooks/clay', adminKey, { email, persona: 'CTO', lead_score: 40 + i, workable: true, external_id: `clay-browser-${i}` });
      assert.equal(lead.status, 202, JSON.stringify(lead.json));
    }

    // The storm: 40 sends from two mailboxes, 10 "user unknown" bounces on one (25% against a 5% pause threshold).
    const events = [];
    for (let i = 0; i < 40; i += 1) {
      for (const from of [STORM, HEALTHY]) events.push({ type: 'EMAIL_SENT', fromEmail: from, toEmail: `lead${i}@prospect.example`, campaignId: CAMPAIGN });
    }
    for (let i = 0; i < 10; i += 1) events.push({ type: 'EMAIL_BOUNCE', fromEmail: STORM, toEmail: `lead${i}@prospect.example`, campaignId: CAMPAIGN, bounce: { message: USER_UNKNOWN } });
    const delivered = await sim.emitMany(events);
    assert.deepEqual(delivered.filter((d) => d.status !== 202).map((d) => `${d.eventType} ${d.status} ${d.error ?? ''}`), [], 'every webhook acknowledged');
    await eventually(`the engine to pause ${STORM}`, async () => ((await api('GET', `/v1/mailboxes/${STORM}`)).json.state === 'paused' ? true : undefined));
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    console.error(`    (was waiting for: ${step})`);
    const test = (this.currentTest.title.match(/^[\w ]+/)?.[0] ?? 'test').trim().replace(/\s+/g, '-').toLowerCase();
    for (const [i, p] of people.entries()) {
      if (!p.page.isClosed()) await screenshot(p.page, `failed-${test}-${i}`).catch(() => undefined);
    }
  });

  after(async () => {
    for (const p of people) await p.context.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
    await sim?.stop();
  });

  let admin: { context: BrowserContext; page: Page; errors: BrowserErrors };

  it('signs in with an admin key through the form; the overview shows the lead counts and the paused mailbox with its reason', async () => {
    admin = await newPerson(browser);
    people.push(admin);
    const { page } = admin;
    await page.goto(`${stack.apiUrl}/console/`);
    await see(page.getByTestId('signin-key'), 'the sign-in form');
    await checkScreen(admin, 'admin', 'signin');

    // A wrong key is refused beside the field (the refused request is the one error the browser may log here).
    await page.getByTestId('signin-key').fill('drk_not_a_key');
    await admin.errors.expecting(/status of 401/, async () => {
      await page.getByTestId('signin-submit').click();
      await see(page.getByTestId('signin-error'), 'the sign-in error');
    });
    assert.equal(await page.getByTestId('signin-key').getAttribute('aria-invalid'), 'true');

    await page.getByTestId('signin-key').fill(adminKey);
    await page.getByTestId('signin-submit').click();
    await see(page.getByTestId('org-name'), 'the signed-in layout');
    assert.equal(await page.getByTestId('org-name').textContent(), 'Browser Agency');
    assert.equal(await page.getByTestId('role').textContent(), 'Admin');
    assert.match(page.url(), /#\/overview$/);

    await see(page.getByTestId('paused-mailbox'), 'the paused mailbox on the overview');
    const paused = page.getByTestId('paused-mailbox').filter({ hasText: STORM });
    assert.equal(await paused.count(), 1, 'the storm mailbox is listed as paused');
    assert.match((await paused.textContent()) ?? '', /hard-bounce rate/i, 'with its reason');
    assert.equal(await page.getByTestId('paused-mailbox').filter({ hasText: HEALTHY }).count(), 0, 'the healthy mailbox is not');
    assert.equal(await page.getByTestId('leads-held').locator('.stat-number').textContent(), '2', 'two held leads');
    assert.equal(await page.getByTestId('leads-active').locator('.stat-number').textContent(), '0', 'none active');
    assert.match((await page.getByTestId('unrouted').textContent()) ?? '', /2 held leads match no routing rule/);
    assert.match((await page.getByTestId('mode').textContent()) ?? '', /enforce/);
    await checkScreen(admin, 'admin', 'overview', { phone: true });

    // The session survives a reload (cookie + the signed-in hint), without a refused request.
    await page.reload();
    await see(page.getByTestId('paused-mailbox'), 'the overview after a reload');
    admin.errors.assertNone('after reloading the overview');
  });

  it('routing: an admin adds a rule (persona, min score, campaign) and saves it; it is there after a reload; an invalid edit shows the error beside the field', async () => {
    const { page, errors } = admin;
    await page.getByTestId('nav-routing').click();
    await see(page.getByTestId('rule-add'), 'the routing editor');
    await settled(page);
    assert.equal(await page.getByTestId('rule-row').count(), 0, 'no rule yet');

    await page.getByTestId('rule-add').click();
    const row = page.getByTestId('rule-row').first();
    await row.getByTestId('rule-name').fill('Founders');
    await row.getByTestId('rule-persona').fill('Founder, CEO');
    await row.getByTestId('rule-min').fill('60');
    await row.getByTestId('rule-campaign').selectOption(String(CAMPAIGN));
    await see(page.getByTestId('rules-dirty'), 'the unsaved-changes hint');
    await page.getByTestId('rule-save').click();
    step = 'the save to be confirmed';
    await page.getByTestId('rules-status').filter({ hasText: /Saved: routing rules version/ }).waitFor({ state: 'attached', timeout: 0 });
    await settled(page);

    const stored = await api('GET', '/v1/routing-rules');
    assert.deepEqual(stored.json.rules, [{ name: 'Founders', when: { persona: ['Founder', 'CEO'], minScore: 60 }, campaignId: String(CAMPAIGN) }]);

    await page.reload();
    await see(page.getByTestId('rule-row'), 'the saved rule after a reload');
    await settled(page);
    const saved = page.getByTestId('rule-row').first();
    assert.equal(await saved.getByTestId('rule-name').inputValue(), 'Founders');
    assert.equal(await saved.getByTestId('rule-persona').inputValue(), 'Founder, CEO');
    assert.equal(await saved.getByTestId('rule-min').inputValue(), '60');
    assert.equal(await saved.getByTestId('rule-campaign').inputValue(), String(CAMPAIGN));
    assert.match((await page.getByTestId('rules-version').textContent()) ?? '', /Version [1-9]/);
    await checkScreen(admin, 'admin', 'routing');

    // Invalid: a minimum above the maximum, and no name. The server's 422 names both fields; each shows beside its field.
    await saved.getByTestId('rule-max').fill('10');
    await saved.getByTestId('rule-name').fill('');
    await errors.expecting(/status of 422/, async () => {
      await page.getByTestId('rule-save').click();
      await see(page.getByTestId('rules-error'), 'the refused save');
    });
    await settled(page);
    const minField = saved.getByTestId('rule-min');
    const nameField = saved.getByTestId('rule-name');
    for (const [field, label, pattern] of [
      [minField, 'minimum score', /maxScore|above/i],
      [nameField, 'name', /.+/],
    ] as const) {
      assert.equal(await field.getAttribute('aria-invalid'), 'true', `the ${label} field is marked invalid`);
      const errorId = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').find((id) => id.endsWith('-error'));
      assert.ok(errorId !== undefined, `the ${label} field is described by its error`);
      const message = page.locator(`[id="${errorId}"]`);
      assert.equal(await message.isVisible(), true, `the ${label} error is shown`);
      assert.match((await message.textContent()) ?? '', pattern, `the ${label} error says what is wrong`);
      // Beside the field: in the same field wrapper, right under the input.
      const besideInput = await field.evaluate((input: { nextElementSibling: { id: string } | null }, id: string) => input.nextElementSibling?.id === id, errorId);
      assert.ok(besideInput, `the ${label} error is right after its input`);
    }
    assert.equal(await page.getByTestId('field-error').filter({ hasText: /maxScore|above/i }).count(), 1, 'the score error is shown once');
    await screenshot(page, 'admin-routing-invalid');
    step = 'axe on the routing screen with errors';
    await assertAccessible(page, 'the routing screen with validation errors');
    errors.assertNone('on the routing screen with validation errors');

    // Nothing was saved; discarding restores the stored rule.
    assert.deepEqual((await api('GET', '/v1/routing-rules')).json.rules.map((r: Json) => r.name), ['Founders']);
    await page.getByTestId('rule-discard').click();
    assert.equal(await saved.getByTestId('rule-name').inputValue(), 'Founders');
  });

  it('domains & mailboxes: the paused mailbox shows its reason, a bounce-rate chart with data and its Temporal link; resumed with a reason through the dialog, the audit log shows the entry with that reason', async () => {
    const { page } = admin;
    await page.getByTestId('nav-entities').click();
    await see(page.getByTestId('tab-mailboxes'), 'the domains & mailboxes screen');
    await page.getByTestId('tab-mailboxes').click();
    const stormRow = page.locator(`[data-testid="entity-row"][data-entity-id="${STORM}"]`);
    await see(stormRow, 'the mailbox list');
    assert.equal(await stormRow.getAttribute('data-state'), 'paused');
    assert.equal(await page.getByTestId('entity-row').count(), 8, 'every synced mailbox is listed');
    await checkScreen(admin, 'admin', 'mailboxes');

    await stormRow.getByRole('link', { name: STORM }).click();
    await see(page.getByTestId('entity-detail'), `the ${STORM} page`);
    assert.equal(await page.getByTestId('entity-detail').getAttribute('data-state'), 'paused');
    const reason = (await page.getByTestId('entity-reason').textContent()) ?? '';
    assert.match(reason, /hard-bounce rate/i, `the pause reason: ${reason}`);
    assert.match(reason, /5%/, `the reason names the threshold: ${reason}`);
    assert.notEqual(await page.getByTestId('entity-cooldown').textContent(), 'No cooldown running');
    assert.match((await page.getByTestId('entity-risk').textContent()) ?? '', /^[1-9]\d* \/ 100$/);

    const temporalHref = (await page.getByTestId('temporal-link').getAttribute('href')) ?? '';
    assert.ok(
      temporalHref === `${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(`mailbox/${organizationId}/${STORM}`)}`,
      `the Temporal Web UI link names the mailbox's workflow: ${temporalHref}`,
    );

    // The chart: the 24 h series has the storm's 40 sends and 10 bounces; uPlot draws the hard-bounce line (#c0392b).
    const summary = await see(page.getByTestId('chart-summary'), 'the chart');
    assert.match((await summary.textContent()) ?? '', /40 sent, 10 hard bounces \(25%\)/);
    const canvas = page.locator('[data-testid="chart"] canvas');
    assert.equal(await canvas.count(), 1, 'one chart canvas');
    step = 'the hard-bounce line on the chart canvas';
    const redPixels = await canvas.evaluate(
      (c: {
        width: number;
        height: number;
        getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
      }) => {
        const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        if (data !== undefined) for (let i = 0; i < data.length; i += 4) if (data[i]! > 150 && data[i + 1]! < 110 && data[i + 2]! < 100 && data[i + 3]! > 200) n += 1;
        return n;
      },
    );
    assert.ok(redPixels > 0, 'the chart draws the hard-bounce rate (red pixels on its canvas)');
    await checkScreen(admin, 'admin', 'mailbox', { phone: true });

    // Resume through the dialog: an empty reason is refused beside the field, then the reason goes through.
    await page.getByTestId('entity-resume').click();
    const dialog = page.getByRole('dialog');
    await see(dialog, 'the resume dialog');
    await page.getByTestId('confirm').click();
    await see(dialog.getByTestId('field-error'), 'the missing-reason message');
    await screenshot(page, 'admin-mailbox-resume-dialog');
    await assertAccessible(page, 'the resume dialog');
    await page.getByTestId('reason-input').fill(RESUME_REASON);
    await page.getByTestId('confirm').click();
    await see(page.getByTestId('override-notice'), 'the resume to be accepted');
    assert.equal(await dialog.count(), 0, 'the dialog closed');

    // The workflow acts in a moment; the page looks again by itself.
    step = 'the mailbox page to show the mailbox no longer paused';
    await page.locator('[data-testid="entity-detail"]:not([data-state="paused"])').waitFor({ timeout: 0 });
    assert.equal(await page.getByTestId('entity-detail').getAttribute('data-state'), 'recovering');
    await eventually(`${STORM} to be unsuspended in Smartlead`, async () => (sim.state.findEmailAccountByEmail(STORM)?.isSuspended === false ? true : undefined));
    admin.errors.assertNone('after resuming');

    // The audit log, filtered by the mailbox through the form: the manual resume, with the person's reason.
    await page.getByTestId('nav-audit').click();
    await see(page.getByTestId('audit-filters'), 'the audit log and its filters');
    await settled(page);
    await page.getByTestId('filter-entity-type').selectOption('mailbox');
    await page.getByTestId('filter-entity-id').fill(STORM);
    await page.getByTestId('filter-apply').click();
    await eventually('the filter in the URL', async () => (page.url().includes(`entityId=${encodeURIComponent(STORM)}`) ? true : undefined));
    const resumed = page.locator('[data-testid="audit-entry"][data-action="mailbox_resumed_manually"]');
    await see(resumed, 'the manual resume in the audit log');
    await settled(page);
    const sentence = (await resumed.getByTestId('audit-message').textContent()) ?? '';
    assert.ok(sentence.includes(RESUME_REASON), `the sentence carries the person's reason: ${sentence}`);
    assert.ok(sentence.includes(STORM), `and names the mailbox: ${sentence}`);
    const entries = page.getByTestId('audit-entry');
    for (let i = 0; i < (await entries.count()); i += 1) {
      assert.ok(((await entries.nth(i).textContent()) ?? '').includes(STORM), 'only entries of that mailbox are listed');
    }
    assert.equal(await page.locator('[data-testid="audit-entry"][data-action="mailbox_paused"]').count(), 1, 'the engine pause is there too');
    await see(page.locator('[data-testid="audit-verify"][data-verify="ok"]'), 'the chain verification');
    await resumed.locator('summary').click();
    await checkScreen(admin, 'admin', 'audit');
  });

  it('settings: the mode is shown with its one-line consequence', async () => {
    const { page } = admin;
    await page.getByTestId('nav-settings').click();
    await see(page.getByTestId('settings-form'), 'the settings form');
    assert.equal(await page.getByTestId('mode-enforce').isChecked(), true, 'enforce is the selected mode');
    for (const mode of ['observe', 'suggest', 'enforce']) {
      const hint = page.locator(`#mode-${mode}-hint`);
      const text = ((await hint.textContent()) ?? '').trim();
      assert.ok(text.length > 20 && !text.includes('\n'), `${mode}: one line of consequence: ${text}`);
      assert.equal(await page.getByTestId(`mode-${mode}`).getAttribute('aria-describedby'), `mode-${mode}-hint`, `${mode}: the consequence describes the radio`);
      // One line on screen too, at desktop width.
      const lines = await hint.evaluate((el: { getClientRects(): ArrayLike<unknown> }) => el.getClientRects().length);
      assert.equal(lines, 1, `${mode}: the consequence fits one line`);
    }
    assert.match((await page.locator('#mode-enforce-hint').textContent()) ?? '', /paus/i, 'enforce says it pauses');
    assert.equal(await page.getByTestId('setting-minSample').inputValue(), '20');
    await checkScreen(admin, 'admin', 'settings');
  });

  it('a viewer key sees no edit control on any screen (no save, no pause or resume, no settings inputs)', async () => {
    const viewer = await newPerson(browser);
    people.push(viewer);
    const { page } = viewer;
    await page.goto(`${stack.apiUrl}/console/`);
    await see(page.getByTestId('signin-key'), 'the sign-in form');
    await checkScreen(viewer, 'viewer', 'signin');
    await signIn(viewer, viewerKey);
    assert.equal(await page.getByTestId('role').textContent(), 'Viewer');

    /** Buttons, inputs and selects that change something (the audit filters and the list filter only read). */
    const editControls = async (): Promise<string[]> =>
      page.evaluate(`[...document.querySelectorAll('main button, main input, main select, main textarea, dialog')]
        .filter((el) => !el.closest('[data-testid="audit-filters"]') && el.id !== 'state-filter' && !el.closest('[role="group"][aria-label="Time window"]')
          && !/^(Try again|Show more|Show older entries|Verify again)$/.test(el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 120))`);

    /** Opens a screen as the viewer and checks it offers nothing to change; the caller then checks what it must show. */
    const open = async (screen: string, hash: string | null, ready: Locator): Promise<void> => {
      if (hash !== null) await go(page, hash);
      await see(ready, `the ${screen} screen (viewer)`);
      await settled(page);
      assert.deepEqual(await editControls(), [], `${screen}: no edit control`);
    };

    await open('overview', null, page.getByTestId('paused-mailbox').or(page.getByText('Nothing is paused.')));
    await checkScreen(viewer, 'viewer', 'overview');

    await open('routing', '#/routing', page.getByTestId('rule-row'));
    assert.match((await page.getByTestId('rule-row').first().textContent()) ?? '', /Founders: persona Founder or CEO and score ≥ 60/);
    for (const id of ['rule-save', 'rule-add', 'rule-remove', 'rule-up', 'rule-down', 'rule-name']) assert.equal(await page.getByTestId(id).count(), 0, `routing: no ${id}`);
    await checkScreen(viewer, 'viewer', 'routing');

    await open('mailboxes', '#/entities?kind=mailboxes', page.getByTestId('entity-row'));
    await checkScreen(viewer, 'viewer', 'mailboxes');

    await open('mailbox', `#/entities/mailbox/${encodeURIComponent(STORM)}`, page.getByTestId('chart-summary'));
    assert.equal(await page.getByTestId('entity-detail').count(), 1);
    assert.equal(await page.getByTestId('entity-pause').count(), 0, 'no pause');
    assert.equal(await page.getByTestId('entity-resume').count(), 0, 'no resume');
    await checkScreen(viewer, 'viewer', 'mailbox');

    await open('audit', '#/audit', page.getByTestId('audit-entry'));
    await checkScreen(viewer, 'viewer', 'audit');

    await open('settings', '#/settings', page.getByTestId('settings-mode'));
    assert.match((await page.getByTestId('settings-mode').textContent()) ?? '', /^enforce: .{20,}$/, 'the mode with its consequence');
    assert.equal(await page.getByTestId('settings-form').count(), 0, 'no settings form');
    assert.equal(await page.locator('main input, main select, main textarea').count(), 0, 'no settings inputs');
    assert.equal(await page.getByTestId('settings-save').count(), 0, 'no save');
    await checkScreen(viewer, 'viewer', 'settings');

    // What the screens hide, the API refuses too: the viewer's own session (cookie and CSRF token) cannot pause.
    const cookies = await viewer.context.cookies();
    assert.ok(cookies.some((c) => c.name === 'drason_session' && c.httpOnly && c.sameSite === 'Strict'), 'an HttpOnly, SameSite=Strict session cookie');
    const refused = await viewer.errors.expecting(/status of 403/, () =>
      page.evaluate(`fetch('/console/session').then((r) => r.json()).then((s) => fetch('/v1/mailboxes/${encodeURIComponent(STORM)}/override', {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ action: 'pause', reason: 'viewer tries' }) }))
        .then((r) => r.status)`),
    );
    assert.equal(refused, 403, 'a viewer session may not pause a mailbox');

    await page.getByTestId('signout').click();
    await see(page.getByTestId('signin-notice'), 'the signed-out notice');
    viewer.errors.assertNone('after signing out');
  });

  it('every screen passed axe (no serious or critical violation) with no browser error, for both roles', () => {
    assert.deepEqual([...(checked.get('admin') ?? [])].sort(), [...SCREENS].sort(), 'admin screens checked');
    assert.deepEqual([...(checked.get('viewer') ?? [])].sort(), [...SCREENS].sort(), 'viewer screens checked');
    for (const p of people) p.errors.assertNone('at the end');
  });
});
