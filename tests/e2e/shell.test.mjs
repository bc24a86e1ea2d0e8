// The public landing page and the studio shell render in a real browser, on a
// desktop and a phone viewport, without script errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer } from '../api/lib/harness.mjs';
import { launch, newPage, screenshot } from './lib/browser.mjs';

let db, srv, browser;

before(async () => {
  db = createDatabase('e2e_shell');
  srv = await startServer({ dbUrl: db.url });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (db) db.drop();
});

test('landing page links to the studio', async () => {
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  assert.match(await page.title(), /ClipLoop/);
  const link = page.getByRole('link', { name: 'Open the studio' });
  assert.equal(await link.getAttribute('href'), '/app');
  await screenshot(page, 'landing-desktop');
  assert.deepEqual(page.consoleErrors, []);
});

for (const mobile of [false, true]) {
  test(`studio shell on ${mobile ? 'a phone' : 'desktop'}: navigation and live health`, async () => {
    const page = await newPage(browser, { mobile });
    await page.goto(srv.url + '/app');
    const nav = page.getByRole('navigation', { name: 'Studio' });
    for (const name of ['Home', 'Create', 'Chats', 'Projects', 'Manual queue', 'Settings']) {
      assert.ok(await nav.getByRole('link', { name }).count() >= 1, name);
    }
    await page.waitForFunction(() => document.getElementById('health')?.textContent !== 'checking…');
    assert.equal(await page.locator('#health').textContent(), 'All systems normal');
    await screenshot(page, mobile ? 'app-mobile' : 'app-desktop');
    assert.deepEqual(page.consoleErrors, []);
  });
}
