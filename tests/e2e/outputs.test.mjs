// Outputs can be told apart and found, and the command bar runs commands, in
// a real browser at desktop (1440x900) and phone (390x844) size: two outputs
// with the same title in two projects show their project and date on the
// dashboard tiles and in the command bar; the command bar finds an output by
// the words of its prompt (the brief's request), its hook and its caption
// (server-side search, GET /api/content-items?q=), and typing a command's
// name runs it (Settings, New chat, Sign out). "New chat" twice reuses the
// empty chat instead of leaving another one behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../api/lib/harness.mjs';
import { demoContext, screenshot, problems, DESKTOP, useStudio } from './lib/browser.mjs';

let db, srv, browser;

useStudio('e2e_outputs', { env: { CLIPLOOP_WORKERS: '0' } }, (w) => ({ db, srv, browser } = w));

const signedIn = (mobile) => demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });

const draft = (hook, caption) => ({ channel: 'instagram', hook, script: [hook, 'Fresh every day', 'Order today'], caption,
  cta: 'Order on Instagram', caption_hint: '', hashtags: ['#food'], variants: {} });

let seeded = false;
async function seed(page) {
  if (seeded) return;
  seeded = true;
  const mk = async (name) => {
    const r = await page.call('POST', '/api/projects', { name, project_type: 'business', business_name: name, category: 'Restaurant',
      city: 'Lagos', target_audience: 'Office workers', primary_offer: 'Party trays', preferred_channels: ['instagram'], language_style: 'english', timezone: 'Africa/Lagos', onboarding_step: 'done' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.project?.id ?? r.body.id;
  };
  const item = async (pid, request, hook, caption) => {
    const r = await page.call('POST', '/api/content-items', { project_id: pid, channel: 'instagram', title: 'Weekend promo',
      brief: { request, offer: request }, draft: draft(hook, caption) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  // the plan allows one active project: the first is archived before the second is made
  const a = await mk('Mama Put Kitchen');
  await item(a, 'Half price jollof trays every Friday in Ikeja', 'Friday feasts start here', 'Smoky rice, delivered hot.');
  psql(db.url, `UPDATE projects SET status = 'archived' WHERE id = ${a}`);
  const b = await mk('Suya Spot');
  await item(b, 'Free drink with every suya platter', 'Grill season is open', 'Pepper, fire and cold zobo on the side.');
  // the older one two days earlier, so the dates differ too
  psql(db.url, `UPDATE content_items SET created_at = now() - interval '2 days' WHERE project_id = ${b}`);
  // the search route matches the prompt, escapes wildcards and still checks the owner
  let r = await page.call('GET', '/api/content-items?q=' + encodeURIComponent('JOLLOF trays'));
  assert.deepEqual(r.body.items.map((x) => x.project_id), [a]);
  r = await page.call('GET', '/api/content-items?q=' + encodeURIComponent('%'));
  assert.equal(r.body.items.length, 0);
}

async function pick(page, typed, optionName) {
  const input = page.locator('#search-input');
  await input.fill('');
  await input.focus();
  await page.keyboard.type(typed);
  await page.locator(`#search-results[data-q="${typed}"]`).waitFor();
  const opt = page.getByRole('option', { name: optionName });
  await opt.first().waitFor();
  return opt;
}

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: outputs show project and date; search covers prompt, hook and caption; commands run`, async () => {
    const page = await signedIn(mobile);
    await seed(page);
    await page.goto(srv.url + '/app');
    const tiles = page.locator('.tiles .tile');
    await tiles.first().waitFor();
    assert.equal(await tiles.count(), 2);
    const metas = await page.getByTestId('tile-meta').allInnerTexts();
    assert.match(metas[0], /^Mama Put Kitchen · \S/);
    assert.match(metas[1], /^Suya Spot · \S/);
    assert.notEqual(metas[0].split(' · ')[1], metas[1].split(' · ')[1], 'the dates differ');
    await screenshot(page, `outputs-dashboard-${size}`);

    // prompt words (only in the brief's request), then a hook, then a caption
    let opt = await pick(page, 'half price jollof', /Weekend promo/);
    assert.equal(await opt.count(), 1);
    assert.match(await opt.innerText(), /Mama Put Kitchen/);
    await screenshot(page, `outputs-search-${size}`, { fullPage: false });
    opt = await pick(page, 'grill season', /Weekend promo/);
    assert.match(await opt.innerText(), /Suya Spot/);
    opt = await pick(page, 'cold zobo', /Weekend promo/);
    assert.equal(await opt.count(), 1);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/app\/create\?item=\d+/);

    // commands by typing
    await pick(page, 'settings', /^Settings/);
    await screenshot(page, `outputs-command-${size}`, { fullPage: false });
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/dashboard\/settings$/);
    await pick(page, 'new chat', /^New chat/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/app\/chats\/\d+$/);
    const first = page.url();
    if (mobile) await page.locator('#chat-drawer').click(); // the list (and its New chat) is a drawer on a phone
    await page.locator('#chat-new').click();
    await page.waitForURL(/\/app\/chats\/\d+$/);
    assert.equal(page.url(), first, 'the empty chat is reused');
    assert.equal(psql(db.url, `SELECT count(*) FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.email = 'demo@cliploop.test'
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)`)[0][0], '1');
    await pick(page, 'sign out', /^Sign out/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/login/);
    // (leaving a page may cancel a search still in flight)
    assert.deepEqual(problems(page, [/\/api\/me\b.* 401$/, /status of 401/, /GET \S+\/api\/(chats|content-items)\?q=\S+ net::ERR_ABORTED$/]), []);
  });
}
