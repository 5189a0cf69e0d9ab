// What the console's browser tests share: Debian's Chromium, pages that
// record every error, screenshots at two widths, navigation by the console's
// own links.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { poll } from '../api/harness.mjs';

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.GATEHOUSE_SCREENSHOTS || path.resolve('build/screenshots');

/** A name with markup in it: it must show as these characters. */
export const XSS = '<img src=x onerror="window.__xss=1">';

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM });
}

/** A browser context whose page records console errors, page errors and CSP violations. */
export async function newPage(browser, { width = 1280, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`unexpected browser dialog: ${d.message()}`); d.dismiss(); });
  page.setDefaultTimeout(10_000);
  return { context, page, problems };
}

/** Chromium logs every 4xx answer: the refusals a test provokes are expected. */
export function notExpected(problem) {
  return !/Failed to load resource: the server responded with a status of 4\d\d/.test(problem);
}

/** Screenshots of the page as it is at 1280 and 390 px wide. */
export async function shots(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  // The page, not the passing notices.
  await page.evaluate(() => document.getElementById('notices')?.replaceChildren());
  const { width: was } = page.viewportSize();
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(50);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: was, height: 900 });
}

/** Clicks a navigation link (through the menu button on a narrow screen). */
export async function clickNav(page, link) {
  const nav = page.getByRole('navigation', { name: 'Console' });
  if (!(await nav.isVisible())) await page.getByRole('button', { name: 'Menu' }).click();
  await nav.getByRole('link', { name: link, exact: true }).click();
}

/** Goes to a console page by its navigation link and waits for its heading. */
export async function open(page, link, heading = link) {
  await clickNav(page, link);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** Waits until no section of the page is still loading. */
export async function settle(page) {
  await poll(async () => (await page.locator('[aria-busy="true"], .skeleton').count()) === 0,
    { timeoutMs: 8000, what: 'the page to finish loading' });
}

/** No script from API text ran, and no element was made from it. */
export async function noXss(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script from API text ran');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element was made from API text');
}

export function dialog(page) { return page.getByRole('dialog'); }
