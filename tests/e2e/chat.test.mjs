// The chat workspace in a real browser: the demo user opens /app/chats,
// starts a chat, sends a free message (answered by the worker with the mock
// LLM), switches the mode to Video (the cost is shown), asks for a WhatsApp
// promo video, watches the steps and waits for the video card to play. The
// thread survives a reload; the phone layout keeps the conversation list in
// a drawer and the composer fixed at the bottom. Screenshots of both
// viewports go to tests/e2e/artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { psql } from '../api/lib/harness.mjs';
import { newPage, screenshot, problems, ARTIFACTS, DESKTOP, useStudio, playVideo, RENDER_WAIT_MS } from './lib/browser.mjs';

let db, srv, storage, browser, chatUrl;
// A <video> cancels its first download once it has the metadata and goes on with range requests.
const MEDIA = [/GET \S+\/api\/assets\/\d+ net::ERR_ABORTED$/];

async function signedIn(mobile) {
  const page = await newPage(browser, mobile ? { mobile } : { viewport: DESKTOP });
  const r = await page.context().request.post(srv.url + '/api/dev/demo-login', { data: {} });
  assert.equal(r.status(), 200);
  page.csrf = (await r.json()).csrf_token;
  return page;
}

async function videoPlays(page) {
  assert.ok(await playVideo(page.getByTestId('chat-video').last(), RENDER_WAIT_MS) > 0);
}

useStudio('e2e_chat', { env: { CLIPLOOP_WORKERS: '1', CLIPLOOP_JOB_POLL_MS: '100' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

test('desktop: free message, then a generate_video message whose card plays; reload keeps the thread', async () => {
  const page = await signedIn(false);
  const p = await page.context().request.post(srv.url + '/api/projects', {
    headers: { 'x-csrf-token': page.csrf },
    data: {
      name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant',
      city: 'Lagos', target_audience: 'Office workers nearby', primary_offer: 'Party jollof trays',
      preferred_channels: ['instagram'], language_style: 'english', onboarding_step: 'done',
    },
  });
  assert.equal(p.status(), 201, await p.text());

  await page.goto(srv.url + '/app/chats');
  await page.getByRole('button', { name: 'Start a chat' }).click();
  await page.waitForURL(/\/app\/chats\/\d+$/);
  chatUrl = page.url();

  // Free chat: the mode switch says so; the reply arrives from the worker.
  assert.match(await page.locator('.mode.selected').innerText(), /Chat\s*Free/);
  await page.getByLabel('Message').fill('What should we post this week for the jollof trays?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.msg-assistant .bubble').filter({ hasText: /\w{3,}.*\w{3,}/ }).first().waitFor({ timeout: 30000 });
  await page.waitForFunction(() => /What should we post/.test(document.getElementById('title').textContent));
  assert.match(await page.locator('.msg-user .msg-meta').first().innerText(), /Free/);

  // Video: the cost is on the switch and on the message.
  const video = page.locator('.mode', { hasText: 'Video' });
  await page.waitForFunction(() => /1 generation \+ 1 render credits/.test(document.getElementById('chat-modes').innerText));
  await video.click();
  assert.match(await page.locator(".mode.selected").innerText(), /Video\s*1 generation \+ 1 render credits/);
  await page.getByLabel('Message').fill('Generate a WhatsApp promo video for our weekend sale');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.steps').last().waitFor({ timeout: 15000 });
  // The progress bubble is as tall as what it says (a global progress-bar
  // style once squashed it to an 8 px strip).
  const bubble = await page.locator('[data-chat-progress]').last().evaluate((el) => ({ h: el.clientHeight, need: el.scrollHeight }));
  assert.ok(bubble.h >= bubble.need && bubble.h > 40, `progress bubble ${JSON.stringify(bubble)}`);
  await videoPlays(page);
  const card = page.getByTestId('chat-card').last();
  assert.equal(await card.getByTestId('chat-card-channel').innerText(), 'WhatsApp');
  // At 1440x900 the video sits beside its words: with the card's top in view, hook, caption and CTA are above the fold.
  const fold = await card.evaluate((el) => {
    el.scrollIntoView({ block: 'start' });
    const cta = el.querySelector('.promo-body strong').getBoundingClientRect();
    return { ctaBottom: cta.bottom - el.getBoundingClientRect().top, card: el.getBoundingClientRect().height };
  });
  console.log(`# chat desktop: CTA ends ${Math.round(fold.ctaBottom)} px below the card's top; card ${Math.round(fold.card)} px high`);
  assert.ok(fold.ctaBottom < 600, `the CTA ends ${fold.ctaBottom}px below the card's top`);
  assert.ok(await card.getByRole('link', { name: 'Download MP4' }).isVisible());
  assert.equal(await card.locator('.receipts li').count(), 2);
  assert.match(await page.locator('.msg-user .msg-meta').last().innerText(), /1 generation \+ 1 render credits/);
  await screenshot(page, 'chat-desktop');

  // Reload: the same thread, the card still there.
  await page.reload();
  await videoPlays(page);
  assert.equal(await page.locator('.msg').count(), 4);
  const uid = psql(db.url, "SELECT id FROM users WHERE email = 'demo@cliploop.test'")[0][0];
  assert.deepEqual(psql(db.url, `SELECT action FROM credit_ledger_entries WHERE user_id = ${uid} AND reason = 'charge' ORDER BY id`)
    .map((r) => r[0]), ['generate_video.copy', 'generate_video.render']);
  // The command bar finds the thread by what was said in it, not only by title.
  await page.locator('#search-input').focus();
  await page.keyboard.type('weekend sale');
  await page.getByRole('option', { name: /mentions it|weekend sale/i }).first().waitFor();
  await page.keyboard.press('Escape');
  assert.deepEqual(problems(page, MEDIA), []);
});

test('phone: the thread fits, the list is a drawer, the composer is fixed at the bottom', async () => {
  const page = await signedIn(true);
  await page.goto(chatUrl);
  await videoPlays(page);
  const composer = await page.locator('#chat-composer').boundingBox();
  assert.ok(composer && Math.abs(composer.y + composer.height - 844) < 2, JSON.stringify(composer));
  // Nothing wider than the phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
  const cardBox = await page.getByTestId('chat-card').last().boundingBox();
  assert.ok(cardBox.width <= 390, JSON.stringify(cardBox));
  // At least half of the 844 px screen shows the thread: the top bar scrolls away, the composer is compact
  // (measured in Video mode: its note and placeholder are the longest).
  await page.locator('.mode', { hasText: 'Video' }).click();
  await page.waitForFunction(() => /credit/.test(document.getElementById('chat-note').textContent));
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const room = await page.evaluate(() => {
    const top = document.querySelector('.topbar').getBoundingClientRect().bottom;
    const composer = document.getElementById('chat-composer').getBoundingClientRect();
    const input = document.getElementById('chat-input');
    return { thread: composer.top - Math.max(0, top), composer: composer.height, header: Math.max(0, top),
      placeholderFits: input.value === '' && input.scrollHeight <= input.clientHeight + 1 };
  });
  console.log(`# chat phone: thread ${Math.round(room.thread)} px, composer ${Math.round(room.composer)} px, header ${Math.round(room.header)} px`);
  // before: thread 535 px, composer 194 px, a 116 px sticky header, the placeholder cut off
  assert.ok(room.thread >= 600, `the thread gets ${room.thread}px of 844`);
  assert.ok(room.composer <= 160, `the composer takes ${room.composer}px`);
  assert.ok(room.placeholderFits, 'the message box shows its whole placeholder');
  await page.screenshot({ path: path.join(ARTIFACTS, 'chat-mobile-viewport.png') });
  await screenshot(page, 'chat-mobile');
  // The conversation list lives in a drawer.
  assert.equal(await page.locator('#chat-list').isVisible(), true); // in the DOM, off screen
  const closed = await page.locator('#chat-list').boundingBox();
  assert.ok(closed.x + closed.width <= 0, JSON.stringify(closed));
  await page.getByRole('button', { name: 'All chats' }).click();
  await page.waitForFunction(() => document.getElementById('chat-list').getBoundingClientRect().x >= 0);
  await page.waitForTimeout(250);
  await page.screenshot({ path: path.join(ARTIFACTS, 'chat-mobile-drawer.png') });
  assert.deepEqual(problems(page, MEDIA), []);
});
