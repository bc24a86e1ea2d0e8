// Errors a user can act on: a server error, a dropped connection and a
// website that cannot be read each show a calm sentence with a way forward;
// the technical text ("Internal server error", "Failed to fetch", "Could not
// resolve host") is only inside a closed "Details" toggle. A chat is renamed
// in place, without the browser's prompt box. Phone and desktop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../api/lib/harness.mjs';
import { screenshot, problems, demoContext, useStudio } from './lib/browser.mjs';

let db, srv, browser, projectId;

/** The text a user reads: everything except closed <details> bodies. */
const visibleText = (page, sel) => page.locator(sel).first().evaluate((el) => {
  const c = el.cloneNode(true);
  for (const d of c.querySelectorAll('details:not([open])')) d.querySelectorAll(':scope > :not(summary)').forEach((x) => x.remove());
  return c.innerText;
});

useStudio('e2e_errors', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' } }, (w) => ({ db, srv, browser } = w));

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: server errors and dropped connections read as calm sentences; details stay behind a toggle`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    if (!projectId) {
      const login = await page.context().request.post(srv.url + '/api/dev/demo-login', { data: {} });
      page.csrf = (await login.json()).csrf_token;
      const r = await page.context().request.post(srv.url + '/api/projects', {
        headers: { 'x-csrf-token': page.csrf },
        data: {
          name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant',
          city: 'Yaba', target_audience: 'Office workers', primary_offer: 'Jollof rice', preferred_channels: ['whatsapp'],
          language_style: 'english', onboarding_step: 'done',
          // A website that does not exist: reading it fails.
          website_url: 'https://mamaputkitchen.invalid',
        },
      });
      assert.equal(r.status(), 201, await r.text());
      projectId = (await r.json()).id;
    }

    // 1. A 500 from the API.
    await page.route('**/api/projects', (route) => route.fulfill({ status: 500, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'internal', message: 'Internal server error' } }) }));
    await page.goto(srv.url + '/app/projects');
    await page.getByText('Something went wrong on our side while trying to load your projects.').waitFor();
    let text = await visibleText(page, '.status.error');
    assert.ok(!/Internal server error/.test(text), text);
    assert.match(text, /Nothing was lost/);
    await page.locator('.status.error summary').click();
    assert.ok(await page.getByText('Internal server error').isVisible(), 'the detail is there on request');
    await page.unroute('**/api/projects');

    // 2. A dropped connection.
    await page.route('**/api/projects', (route) => route.abort('connectionreset'));
    await page.goto(srv.url + '/app/projects');
    await page.getByText('We could not reach ClipLoop to load your projects.').waitFor();
    text = await visibleText(page, '.status.error');
    assert.ok(!/Failed to fetch/i.test(text), text);
    await page.unroute('**/api/projects');
    await screenshot(page, `error-connection-${size}`);

    // 3. A website that cannot be read: what to do, not the resolver's words.
    await page.goto(`${srv.url}/app/projects/${projectId}`);
    const read = page.getByRole('button', { name: /Read (my website|it again)/ }).first();
    await read.waitFor();
    if (!mobile) await read.click();
    await page.getByText('We could not read your website.').waitFor({ timeout: 30000 });
    text = await visibleText(page, '[data-run]');
    assert.match(text, /check the address/i);
    assert.ok(!/resolve|GET |curl/i.test(text), text);
    // Deleting the project is its own section, away from Save.
    assert.equal(await page.locator('[data-profile] [data-delete]').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Delete project…' }).count(), 1);
    await screenshot(page, `error-website-${size}`);
    assert.deepEqual(problems(page, [/api\/projects (500|net::ERR_CONNECTION_RESET)$/, /status of 500/, /ERR_CONNECTION_RESET/]), []);
  });
}

test('a chat is renamed in place, without the browser prompt box', async () => {
  const page = await demoContext(browser, srv.url);
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs++; d.dismiss(); });
  await page.goto(srv.url + '/app/chats');
  await page.getByRole('button', { name: 'Start a chat' }).click();
  await page.waitForURL(/\/app\/chats\/\d+$/);
  await page.getByRole('button', { name: 'Rename' }).click();
  const input = page.getByLabel('Chat title');
  await input.fill('Weekend jollof ideas');
  await input.press('Enter');
  await page.waitForFunction(() => /Weekend jollof ideas/.test(document.getElementById('title').textContent));
  assert.equal(dialogs, 0);
  const id = page.url().split('/').pop();
  assert.equal(psql(db.url, `SELECT title FROM conversations WHERE id = ${id}`)[0][0], 'Weekend jollof ideas');
  assert.ok(await page.getByRole('button', { name: 'Rename' }).isVisible());
});
