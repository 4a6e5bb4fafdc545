/**
 * The journey page in a real browser (Chromium driven by playwright-core): `cxs serve` with two
 * tenants and users runs as a child process; the page is opened on a contact key and on a
 * customer; a whole call is driven through the HTTP API while it is open, and the timeline must
 * show the service, its states and tasks as they happen, without a reload. Skipped, with the
 * reason, where no Chromium is installed (`apt-get install chromium`; `CHROMIUM_PATH` overrides).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '@cxs/koa';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../packages/server/test/cli-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** `UPDATE_SCREENSHOTS=1` also writes the README's screenshot (docs/journey-page.png). */
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/journey-page.png') : undefined;
const BASE = '/genesys/1/cs';
const CUSTOMER = 'C-1042';
const PHONE = '+33140001234';
const WAIT = { timeout: 20_000 };
/** A whole call in a browser on a loaded 2-core machine: more than the default 30 s. */
const TEST_TIMEOUT = 120_000;

let tmp: string;
let server: ChildProcess | undefined;
let origin: string;
let browser: Browser | undefined;

/** Start `cxs serve` and resolve with its URL once it listens. */
const auth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Call the API as the administrator of a tenant; returns the JSON body (if any). */
async function api(method: string, path: string, body?: unknown, tenant = 'acme'): Promise<unknown> {
  const res = await fetch(`${origin}${BASE}${path}`, {
    method,
    headers: {
      Authorization: auth('admin', 'admin-pass'),
      ContactCenterId: tenant,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** An instant `minutes` before now (the call is replayed with its own timestamps). */
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

const count = (page: Page, selector: string) => page.locator(selector).count();

/** What the page's functions use of the DOM (this file is typed for Node, without the DOM). */
interface PageGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
}

/** Wait until `selector` matches exactly `n` elements. */
async function waitCount(page: Page, selector: string, n: number): Promise<void> {
  // Runs in the page; a function, not a string, which the page's CSP (no eval) would refuse.
  await page.waitForFunction(
    ([s, want]) => (globalThis as unknown as PageGlobals).document.querySelectorAll(s).length === want,
    [selector, n] as const,
    WAIT,
  );
}

async function openPage(context: BrowserContext, query: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}/ui/?${query}`);
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  tmp = await mkdtemp(join(tmpdir(), 'cxs-ui-'));
  const fast = { N: 1024, r: 8, p: 1 };
  await writeFile(
    join(tmp, 'users.json'),
    JSON.stringify({
      users: [
        { username: 'admin', password: await hashPassword('admin-pass', fast), roles: ['Administrator'] },
        { username: 'sue', password: await hashPassword('sue-pass', fast), roles: ['Supervisor'] },
        { username: 'guest', password: await hashPassword('guest-pass', fast), roles: [] },
      ],
    }),
  );
  await writeFile(
    join(tmp, 'tenants.json'),
    JSON.stringify([
      { id: 'acme', name: 'Acme Travel' },
      { id: 'globex', name: 'Globex Bank' },
    ]),
  );
  const started = await serve([
    '--store',
    'memory',
    '--users',
    join(tmp, 'users.json'),
    '--tenants',
    join(tmp, 'tenants.json'),
  ]);
  server = started.child;
  origin = started.url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives each launch a fresh, temporary --user-data-dir of its own.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!HAVE_CHROMIUM)(
  `journey page in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no browser at ${CHROMIUM}; apt-get install chromium)`}`,
  { timeout: TEST_TIMEOUT },
  () => {
    it('follows a whole call live: anonymous by contact key, then on the customer once associated', async () => {
      const context = await (browser as Browser).newContext({
        viewport: { width: 1440, height: 900 },
        httpCredentials: { username: 'sue', password: 'sue-pass' },
      });
      // History: an earlier chat of the customer (acme), and a service of the same customer id in
      // another tenant, which the page must never show.
      const earlier = (await api('POST', '/services/start', {
        customer_id: CUSTOMER,
        service_type: 'Booking',
        media_type: 'chat',
        timestamp: ago(75),
      })) as { service_id: string };
      const { state_id: s0 } = (await api('POST', `/services/${earlier.service_id}/states/start`, {
        state_type: 'Chat with agent',
        timestamp: ago(74),
      })) as { state_id: number };
      const { task_id: t0 } = (await api('POST', `/services/${earlier.service_id}/tasks/start`, {
        task_type: 'Rebook flight',
        state_id: s0,
        media_type: 'chat',
        timestamp: ago(73),
      })) as { task_id: number };
      await api('POST', `/services/${earlier.service_id}/tasks/${t0}/end`, {
        disposition: 'done',
        timestamp: ago(64),
      });
      await api('POST', `/services/${earlier.service_id}/end`, {
        disposition: 'rebooked',
        timestamp: ago(62),
      });
      await api('POST', '/services/start', { customer_id: CUSTOMER, service_type: 'Other tenant' }, 'globex');

      const anonymous = await openPage(context, `tenant=acme&contact_key=${encodeURIComponent(PHONE)}`);
      const customer = await openPage(context, `tenant=acme&customer=${CUSTOMER}`);
      for (const page of [anonymous, customer]) {
        await page.waitForSelector('#live[data-state="live"]', WAIT);
      }
      await waitCount(customer, '.vis-item.item-service', 1);

      // The call, replayed with its own timestamps while both pages are open.
      const { service_id: sid } = (await api('POST', '/services/start', {
        contact_key: PHONE,
        service_type: 'Billing',
        media_type: 'voice',
        interaction_id: 'call-7781',
        timestamp: ago(40),
      })) as { service_id: string };
      await waitCount(anonymous, '.vis-item.item-service', 1);
      const { state_id: ident } = (await api('POST', `/services/${sid}/states/start`, {
        state_type: 'Identification',
        timestamp: ago(40),
      })) as { state_id: number };
      const { task_id: ivr } = (await api('POST', `/services/${sid}/tasks/start`, {
        task_type: 'IVR menu',
        state_id: ident,
        media_type: 'voice',
        timestamp: ago(39),
      })) as { task_id: number };
      await api('POST', `/services/${sid}/tasks/${ivr}/end`, {
        disposition: 'identified',
        timestamp: ago(33),
      });
      await waitCount(anonymous, '.vis-item.item-state', 1);
      await waitCount(anonymous, '.vis-item.item-task.is-completed', 1);
      const { state_id: waiting } = (await api('POST', `/services/${sid}/states/transition`, {
        from: { state_id: ident, disposition: 'identified' },
        to: { state_type: 'Waiting for agent' },
        timestamp: ago(32),
      })) as { state_id: number };
      await waitCount(anonymous, '.vis-item.item-state', 2);

      // Identified: associated to the customer. It leaves the anonymous view, joins the customer's.
      await api('POST', `/customers/${CUSTOMER}/services/${sid}`, { Verified: { by: 'IVR', pin: true } });
      await waitCount(customer, '.vis-item.item-service', 2);
      await waitCount(customer, '.vis-item.item-state', 3);
      await waitCount(anonymous, '.vis-item.item-service', 0);
      await anonymous.waitForSelector(`#message a[href*="customer=${CUSTOMER}"]`, WAIT);

      const { state_id: agent } = (await api('POST', `/services/${sid}/states/transition`, {
        from: { state_id: waiting, disposition: 'answered' },
        to: { state_type: 'Billing dispute' },
        timestamp: ago(27),
      })) as { state_id: number };
      const { task_id: talk } = (await api('POST', `/services/${sid}/tasks/start`, {
        task_type: 'Agent call',
        state_id: agent,
        media_type: 'voice',
        resource_type: 'agent',
        resource_id: 4711,
        timestamp: ago(27),
      })) as { task_id: number };
      await waitCount(customer, '.vis-item.item-task.is-active', 1);
      const { task_id: mail } = (await api('POST', `/services/${sid}/tasks/start`, {
        task_type: 'Refund email',
        state_id: agent,
        media_type: 'email',
        timestamp: ago(12),
      })) as { task_id: number };
      await api('PUT', `/services/${sid}/tasks/${talk}/extensions/Notes`, {
        reason: 'double charge',
        amount: 42.5,
        currency: 'EUR',
      });
      await api('POST', `/services/${sid}/tasks/${mail}/end`, { disposition: 'sent', timestamp: ago(6) });
      await api('POST', `/services/${sid}/tasks/${talk}/end`, { disposition: 'refunded', timestamp: ago(5) });
      await waitCount(customer, '.vis-item.item-task', 4);
      await waitCount(customer, '.vis-item.item-task.is-completed', 4);
      // The service stays active: its bar runs to now, its current state too.
      await waitCount(customer, '.vis-item.item-service.is-active', 1);
      await waitCount(customer, '.vis-item.item-state.is-active', 1);
      expect(await count(customer, '#feed li')).toBeGreaterThanOrEqual(6);
      const taskText = await customer.locator('.vis-item.item-task').allInnerTexts();
      expect(taskText.join('\n')).toMatch(/Agent call[\s\S]*voice[\s\S]*refunded[\s\S]*22 min/);
      expect(taskText.join('\n')).toMatch(/Refund email[\s\S]*email[\s\S]*sent/);

      // Click the agent call: its fields and its extension.
      await customer.locator('.vis-item.item-task', { hasText: 'Agent call' }).click();
      await customer.waitForSelector('#details .extension-name:text("Notes")', WAIT);
      const details = await customer.locator('#details').textContent();
      expect(details).toContain('4711');
      expect(details).toContain('double charge');
      expect(details).toMatch(/disposition\s*refunded/);

      const groups = await customer.locator('.vis-labelset .group-title').allInnerTexts();
      expect(groups.sort()).toEqual(['Billing', 'Booking']);
      if (SCREENSHOT !== undefined) {
        await customer.mouse.move(700, 880);
        await customer.waitForSelector('.vis-tooltip', { state: 'hidden', ...WAIT });
        await mkdir(join(ROOT, 'docs'), { recursive: true });
        await customer.screenshot({ path: SCREENSHOT });
      }

      // The end of the call shows up too.
      await api('POST', `/services/${sid}/states/${agent}/end`, {
        disposition: 'resolved',
        timestamp: ago(4),
      });
      await api('POST', `/services/${sid}/end`, { disposition: 'resolved', timestamp: ago(4) });
      await waitCount(customer, '.vis-item.item-service.is-completed', 2);
      await waitCount(customer, '.vis-item.is-active', 0);
      expect(await customer.locator('.vis-item.item-service', { hasText: 'resolved' }).count()).toBe(1);
      for (const page of [anonymous, customer]) {
        expect((page as Page & { errors?: string[] }).errors).toEqual([]);
      }
      await context.close();
    });

    it('gets the Basic prompt, and tells a user who fails it or lacks a reading role so', async () => {
      // The prompt answered with a wrong password (as a user who gives up): the page says what to do.
      const wrong = await (browser as Browser).newContext({
        httpCredentials: { username: 'sue', password: 'not-her-password' },
      });
      const page = await openPage(wrong, `tenant=acme&customer=${CUSTOMER}`);
      await page.waitForSelector('#message:text("Sign-in required")', WAIT);
      await wrong.close();

      const guest = await (browser as Browser).newContext({
        httpCredentials: { username: 'guest', password: 'guest-pass' },
      });
      const denied = await openPage(guest, `tenant=acme&customer=${CUSTOMER}`);
      await denied.waitForSelector('#message:text("may not read journeys")', WAIT);
      expect(await count(denied, '.vis-item')).toBe(0);
      await guest.close();
    });
  },
);
