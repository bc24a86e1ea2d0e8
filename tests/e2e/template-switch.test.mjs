// Switching a finished promo's video template from the result page: the
// select lists the templates the channel allows with the current one marked,
// the button says what it costs, and the item renders again with the chosen
// template. Desktop and phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoContext, apiPromo, screenshot, problems, useStudio } from './lib/browser.mjs';

let db, srv, storage, browser;

useStudio('e2e_template', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: switch the video template and render again`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    const itemId = await apiPromo(page, 'Jollof trays, 20% off this weekend', `tpl-e2e-${size}-0001`);
    await page.goto(`${srv.url}/app/create?item=${itemId}`);
    await page.getByText('Your promo is ready.').waitFor({ timeout: 120000 });
    const select = page.getByTestId('template-select');
    await select.waitFor();
    assert.match(await select.locator('option:checked').innerText(), /Offer card \(current\)/);
    assert.equal(await page.getByTestId('template-switch').innerText(), 'Switch and render again (1 render credit)');
    await select.selectOption('quote');
    await screenshot(page, `template-switch-${size}`);
    await page.getByTestId('template-switch').click();
    await page.getByText('Your promo is ready.').waitFor({ timeout: 120000 });
    await page.waitForFunction(() => /Quote \(current\)/.test(document.querySelector('[data-testid="template-select"] option:checked')?.textContent || ''), null, { timeout: 120000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
    assert.deepEqual(problems(page, [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/]), []);
    await page.close();
  });
}
