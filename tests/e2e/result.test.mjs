// What a user does with a finished promo: copy the caption, the call to
// action and the tracking link; fix the words (checked by the channel's
// rules, and the page says the video still shows the earlier words until it
// is rendered again); delete it after confirming in place. Desktop and phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoContext, apiPromo, screenshot, problems, useStudio, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, storage, browser;
const MEDIA = [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/];

async function signedIn(mobile) {
  const page = await demoContext(browser, srv.url, { mobile });
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  return page;
}

useStudio('e2e_result', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: copy, edit and delete a finished promo`, async () => {
    const page = await signedIn(mobile);
    const id = await apiPromo(page, 'Half price jollof trays this weekend', `result-e2e-${size}-0001`);
    await page.goto(`${srv.url}/app/create?item=${id}`);
    await page.getByText('Your promo is ready.').waitFor({ timeout: RENDER_WAIT_MS });

    // Copy: the caption as it will be posted, and the call to action.
    const caption = await page.getByTestId('result-caption').innerText();
    await page.getByRole('button', { name: 'Copy caption' }).click();
    await page.getByText('Caption copied.').waitFor();
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert.ok(clip.startsWith(caption.split('\n')[0]), JSON.stringify({ clip, caption }));
    await page.getByRole('button', { name: 'Copy call to action' }).click();
    await page.getByText('Call to action copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await page.getByTestId('result-cta').innerText());
    if (await page.getByTestId('result-link').count()) {
      await page.getByRole('button', { name: 'Copy link' }).click();
      assert.match(await page.evaluate(() => navigator.clipboard.readText()), /\/r\/[A-Za-z0-9]{8,}$/);
    }

    // Edit: a CTA the rules accept is saved; the page says the video is now behind.
    await page.getByRole('button', { name: 'Edit words' }).click();
    await page.getByLabel('Call to action', { exact: true }).fill('Order on WhatsApp today');
    await page.getByRole('button', { name: 'Save words' }).click();
    await page.getByText('Words saved. The video still shows the earlier words.').waitFor();
    assert.equal(await page.getByTestId('result-cta').innerText(), 'Order on WhatsApp today');
    assert.ok(await page.getByRole('button', { name: 'Render again (1 render credit)', exact: true }).isVisible());
    // The sound of the next render: the voiceover on, the default bed chosen, every bed offered, or none.
    const music = page.getByRole('combobox', { name: 'Music' });
    await music.waitFor();
    assert.equal(await music.inputValue(), 'upbeat');
    const options = await music.locator('option').allInnerTexts();
    for (const bed of ['Upbeat', 'Calm', 'Bright', 'Drive', 'No music']) assert.ok(options.some((o) => o.startsWith(bed)), options.join('|'));
    assert.ok(await page.getByRole('checkbox', { name: 'Voiceover' }).isChecked());
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
    await screenshot(page, `result-actions-${size}`);

    // Delete: asked in place; "Keep it" keeps it, "Delete for good" deletes.
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    await page.getByRole('button', { name: 'Delete…' }).waitFor();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByText('The output and its files are gone.').waitFor();
    const gone = await page.context().request.get(`${srv.url}/api/content-items/${id}`);
    assert.equal(gone.status(), 404);
    assert.deepEqual(problems(page, MEDIA), []);
  });
}
