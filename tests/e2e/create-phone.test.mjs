// The create flow stays short on a phone (390x844) and on the desktop
// (1440x900): once the brief is written, step 1 folds into a one-line
// summary (the prompt) with an "Edit" that opens it again; after Generate the
// brief and the cost steps fold too, so the result follows right after three
// short lines. Focus never lands in a text field when the brief appears (on
// a phone that opens the keyboard). The page heights are printed and bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoContext, screenshot, problems, DESKTOP, useStudio } from './lib/browser.mjs';

let db, srv, browser;

useStudio('e2e_create_phone', { env: { CLIPLOOP_WORKERS: '0' } }, (w) => ({ db, srv, browser } = w));

async function signedIn(mobile) {
  const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
  const { body } = await page.call('GET', '/api/projects');
  if (!body.projects.length) {
    const p = await page.call('POST', '/api/projects', {
      name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant', city: 'Yaba',
      target_audience: 'Office workers', primary_offer: 'Jollof rice', preferred_channels: ['instagram'], language_style: 'english',
      onboarding_step: 'done' });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  }
  return page;
}

const height = (page) => page.evaluate(() => document.documentElement.scrollHeight);

for (const mobile of [true, false]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: completed steps fold into one-line summaries`, async () => {
    const page = await signedIn(mobile);
    await page.goto(srv.url + '/app/create');
    const prompt = 'Half price jollof trays this weekend, order on WhatsApp';
    await page.getByLabel('What do you want to promote?').fill(prompt);
    await page.getByRole('button', { name: 'Write the brief' }).click();
    await page.getByTestId('cost').waitFor();
    const briefHeight = await height(page);
    console.log(`# create ${size}: page height with the brief ${briefHeight}px`);
    const tag = await page.evaluate(() => document.activeElement?.tagName);
    assert.ok(!['INPUT', 'TEXTAREA', 'SELECT'].includes(tag), `focus moved into a ${tag}`);

    // step 1 is one line: the prompt, and an Edit that opens it again
    const step1 = page.locator('#step-prompt');
    assert.equal(await step1.getByLabel('What do you want to promote?').isVisible(), false);
    assert.match(await step1.locator('.step-summary').innerText(), /Half price jollof trays/);
    const s1 = await step1.boundingBox();
    assert.ok(s1.height < 110, `step 1 folded is ${s1.height}px high`);
    await screenshot(page, `create-brief-${size}`);
    await step1.getByRole('button', { name: /^Edit/ }).click();
    assert.equal(await step1.getByLabel('What do you want to promote?').isVisible(), true);
    await step1.getByRole('button', { name: /^Done|^Edit/ }).click();
    assert.equal(await step1.getByLabel('What do you want to promote?').isVisible(), false);

    // generate the copy only (no render): steps 2 and 3 fold as well
    await page.getByLabel('Render the video').uncheck();
    await page.waitForFunction(() => !document.querySelector('[data-generate]').disabled);
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByTestId('result-caption').waitFor();
    const resultTop = await page.locator('#step-result').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
    const resultHeight = await height(page);
    console.log(`# create ${size}: page height with the result ${resultHeight}px, result starts at ${Math.round(resultTop)}px`);
    for (const id of ['#step-prompt', '#step-brief', '#step-generate']) {
      const box = await page.locator(id).boundingBox();
      assert.ok(box.height < 110, `${id} folded is ${box.height}px high`);
    }
    assert.match(await page.locator('#step-brief .step-summary').innerText(), /Instagram|TikTok|WhatsApp/);
    assert.match(await page.locator('#step-generate .step-summary').innerText(), /1 generation/);
    // before the steps folded: phone 2034 / 3700 px (result at 2086 px), desktop 1581 / 2485 px (result at 1605 px)
    assert.ok(resultTop < (mobile ? 600 : 560), `the result starts at ${resultTop}px`);
    assert.ok(resultHeight < (mobile ? 2600 : 1800), `page with the result is ${resultHeight}px high`);
    assert.ok(briefHeight < (mobile ? 1900 : 1400), `page with the brief is ${briefHeight}px high`);
    await screenshot(page, `create-result-${size}`);
    assert.deepEqual(problems(page), []);
  });
}
