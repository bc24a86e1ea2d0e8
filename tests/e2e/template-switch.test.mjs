// Switching a finished promo's video template from the result page: the
// select lists the templates the channel allows with the current one marked,
// the button says what it costs, and the item renders again with the chosen
// template. Desktop and phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoContext, apiPromo, screenshot, problems, useStudio, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, storage, browser;

// What reaches past the right edge at this width (the device's): how far the
// page scrolls sideways, elements whose box ends past the edge, elements whose
// content spills out of their own box (a nowrap label wider than its button),
// elements of the result card that reach past the card,
// and, at phone width, the result card when its right margin is not its left one (the page
// clipped it).
function overflowing(width) {
  const name = (e) => `${e.tagName.toLowerCase()}${e.dataset.testid ? `[${e.dataset.testid}]` : ''}: ${(e.textContent || '').trim().slice(0, 40)}`;
  const shown = [...document.querySelectorAll('body *')].filter((e) => e.getClientRects().length
    && getComputedStyle(e).visibility !== 'hidden' && !['VIDEO', 'SELECT', 'INPUT', 'TEXTAREA', 'OPTION'].includes(e.tagName));
  const cardEl = document.getElementById('step-result'), card = cardEl?.getBoundingClientRect();
  const spills = (e) => { const cs = getComputedStyle(e); return cs.whiteSpace === 'nowrap' && cs.overflowX === 'visible' && e.scrollWidth > e.clientWidth + 1; };
  const cut = shown.filter((e) => e.getBoundingClientRect().right > width + 0.5 || spills(e)
    || (card && cardEl.contains(e) && e !== cardEl && e.getBoundingClientRect().right > card.right + 0.5)).map(name);
  const lopsided = card && width < 600 ? Math.round(Math.abs(card.left - (width - card.right))) : 0;
  return { scroll: Math.max(0, document.documentElement.scrollWidth - width), cut: cut.slice(0, 8), lopsided };
}

useStudio('e2e_template', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: switch the video template and render again`, async () => {
    const page = await demoContext(browser, srv.url, { mobile });
    const itemId = await apiPromo(page, 'Jollof trays, 20% off this weekend', `tpl-e2e-${size}-0001`);
    await page.goto(`${srv.url}/app/create?item=${itemId}`);
    await page.getByText('Your promo is ready.').waitFor({ timeout: RENDER_WAIT_MS });
    const select = page.getByTestId('template-select');
    await select.waitFor();
    assert.match(await select.locator('option:checked').innerText(), /Offer card \(current\)/);
    assert.equal(await page.getByTestId('template-switch').innerText(), 'Switch and render again (1 render credit)');
    await select.selectOption('quote');
    await screenshot(page, `template-switch-${size}`);
    // nothing reaches past the right edge: neither the page nor a box clipped by a card
    assert.deepEqual(await page.evaluate(overflowing, page.viewportSize().width), { scroll: 0, cut: [], lopsided: 0 });
    await page.getByTestId('template-switch').click();
    await page.getByText('Your promo is ready.').waitFor({ timeout: RENDER_WAIT_MS });
    await page.waitForFunction(() => /Quote \(current\)/.test(document.querySelector('[data-testid="template-select"] option:checked')?.textContent || ''), null, { timeout: RENDER_WAIT_MS });
    assert.deepEqual(await page.evaluate(overflowing, page.viewportSize().width), { scroll: 0, cut: [], lopsided: 0 });
    assert.deepEqual(problems(page, [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/]), []);
    await page.close();
  });
}
