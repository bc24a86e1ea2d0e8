// Usage and credits tell one story, desktop (1440x900) and phone (390x844):
// the plan's weekly post limit is enforced on the create flow (the next
// generation past it is refused with 429 plan_limit_reached and charges
// nothing), and the dashboard and settings show the same count in the same
// words ("5 of 5 used · limit reached"), never "6 of 5".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../api/lib/harness.mjs';
import { demoContext, screenshot, problems, DESKTOP, useStudio } from './lib/browser.mjs';

let db, srv, browser, limit;

useStudio('e2e_usage', { env: { CLIPLOOP_WORKERS: '0' } }, (w) => ({ db, srv, browser } = w));

test('the weekly post limit is enforced on the create flow, and nothing past it is charged', async () => {
  const page = await demoContext(browser, srv.url, { viewport: DESKTOP });
  const p = await page.call('POST', '/api/projects', {
    name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant', city: 'Yaba',
    target_audience: 'Office workers', primary_offer: 'Jollof rice', preferred_channels: ['instagram'], language_style: 'english',
    onboarding_step: 'done' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const projectId = p.body.project?.id ?? p.body.id;
  limit = (await page.call('GET', '/api/me/usage')).body.week.metrics.posts_generated.limit;
  assert.ok(limit > 0 && limit < 20, `weekly post limit ${limit}`);
  const { body: { brief } } = await page.call('POST', '/api/create/brief', { project_id: projectId, prompt: 'Half price jollof trays', channel: 'instagram' });
  for (let i = 0; i < limit; i++) {
    const r = await page.call('POST', '/api/create/generate', { project_id: projectId, brief, render: false, request_id: `usage-${i}-aaaaaaaa` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const before = psql(db.url, "SELECT count(*) FROM credit_ledger_entries WHERE reason = 'charge'")[0][0];
  const r = await page.call('POST', '/api/create/generate', { project_id: projectId, brief, render: false, request_id: 'usage-over-aaaaaaaa' });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'plan_limit_reached');
  assert.equal(psql(db.url, "SELECT count(*) FROM credit_ledger_entries WHERE reason = 'charge'")[0][0], before, 'nothing charged');
  // a retry of a request that was charged is still answered (replay), not refused by the limit
  const again = await page.call('POST', '/api/create/generate', { project_id: projectId, brief, render: false, request_id: 'usage-0-aaaaaaaa' });
  assert.ok(again.status === 200 || again.status === 201, JSON.stringify(again.body));
  const usage = (await page.call('GET', '/api/me/usage')).body.week.metrics.posts_generated;
  assert.deepEqual([usage.used, usage.limit, usage.remaining], [limit, limit, 0]);
});

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';
  test(`${size}: dashboard and settings show the same count in the same words`, async () => {
    const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
    const want = `${limit} of ${limit} used · limit reached`;
    await page.goto(srv.url + '/app');
    const dash = page.locator('[data-usage="posts_generated-week"]');
    await dash.waitFor();
    assert.equal(await dash.innerText(), want);
    await dash.scrollIntoViewIfNeeded();
    await screenshot(page, `usage-dashboard-${size}`, { fullPage: false });
    await page.goto(srv.url + '/dashboard/settings');
    const set = page.locator('[data-usage="posts_generated-week"]');
    await set.waitFor();
    assert.equal(await set.innerText(), want);
    assert.doesNotMatch(await page.locator('#view').innerText(), /(\d+) of \1 left|\b(\d+) of (\d+)\b(?! used)/);
    await screenshot(page, `usage-settings-${size}`);
    assert.deepEqual(problems(page), []);
  });
}
