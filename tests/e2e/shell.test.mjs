// The public landing page and the studio shell in a real browser, on a
// desktop and a phone viewport: a signed-out visitor is sent to the log-in
// page; a signed-in one gets the sidebar (a drawer on a phone), the command
// bar with its keyboard shortcuts, live health and the "Mock LLM" badge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, demoContext, problems, useStudio } from './lib/browser.mjs';

let db, srv, browser;

useStudio('e2e_shell', {}, (w) => ({ db, srv, browser } = w));

test('landing page links to the studio; the studio sends a signed-out visitor to log in', async () => {
  const page = await newPage(browser);
  // Signed out, nothing asks /api/me (no 401 in the console on the way to log in).
  const asked = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/me') asked.push(r.url()); });
  await page.goto(srv.url + '/');
  await page.waitForLoadState('networkidle');
  assert.match(await page.title(), /ClipLoop/);
  const link = page.getByRole('link', { name: 'Open the studio' });
  assert.equal(await link.getAttribute('href'), '/app');
  await link.click();
  await page.waitForURL('**/login.html?next=%2Fapp');
  await page.getByRole('button', { name: 'Continue as the demo user' }).waitFor();
  assert.deepEqual(asked, []);
  // The shell's redirect may cut its favicon download short; that is not a failure.
  assert.deepEqual(problems(page, [/favicon\.svg net::ERR_ABORTED$/]), []);
});

test('/api/version names the LLM provider and mock mode', async () => {
  const v = await (await fetch(srv.url + '/api/version')).json();
  assert.equal(v.name, 'cliploop');
  assert.equal(v.llm_provider, 'mock');
  assert.equal(v.mock_mode, true);
});

for (const mobile of [false, true]) {
  test(`studio shell on ${mobile ? 'a phone' : 'desktop'}: navigation, command bar, live health, mock badge`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    await page.goto(srv.url + '/dashboard/settings');
    const nav = page.getByRole('navigation', { name: 'Studio' });
    await page.waitForFunction(() => document.body.dataset.ready === '1');
    if (mobile) {
      // The sidebar is a drawer: off screen until the menu button opens it.
      assert.equal(await nav.getByRole('link', { name: 'Home' }).isVisible(), true); // in the DOM, positioned off screen
      assert.ok(await page.locator('#sidebar').evaluate((el) => el.getBoundingClientRect().right <= 0));
      await page.getByRole('button', { name: 'Open menu' }).click();
      await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
    }
    for (const name of ['Home', 'Create', 'Chats', 'Projects', 'Manual queue', 'Settings']) {
      assert.equal(await nav.getByRole('link', { name, exact: true }).count(), 1, name);
    }
    assert.equal(await nav.getByRole('link', { name: 'Settings' }).getAttribute('aria-current'), 'page');
    assert.equal(await page.locator('#health').textContent(), 'All systems normal');
    assert.ok(await page.locator('#mock-badge').isVisible());
    if (mobile) {
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
    }
    // Ctrl-K focuses the command bar from anywhere.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('Control+k');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
    await page.keyboard.type('zzz-nothing');
    await page.getByText('Nothing matches').waitFor();
    assert.deepEqual(problems(page), []);
  });
}
