// The Media page of a project (web/assets/js/media.js) on a phone (390x844)
// and the desktop (1440x900): a photo chosen through the file input (what the
// phone's camera roll hands over) uploads with progress and appears in the
// library; a file over 20 MB is refused before it is sent; a text file named
// .jpg is refused by the server with a calm message; website suggestions are
// kept or discarded; the brand kit takes its
// colours from the logo, previews the chosen fonts and saves. Screenshots go
// to tests/e2e/artifacts/media-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { psql } from '../api/lib/harness.mjs';
import { startStudio, newPage, demoContext, screenshot, problems, DESKTOP, signUpForOnboarding } from './lib/browser.mjs';

let studio, db, srv, browser, tmp, photo, logo;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-media-'));
  photo = path.join(tmp, 'IMG_0042.jpg');
  logo = path.join(tmp, 'logo.png');
  const ff = (...a) => { const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...a]); assert.equal(r.status, 0, String(r.stderr)); };
  ff('-f', 'lavfi', '-i', 'testsrc2=size=1200x900', '-frames:v', '1', photo);
  ff('-f', 'lavfi', '-i', 'color=c=white:s=300x300', '-f', 'lavfi', '-i', 'color=c=0xC0392B:s=150x150',
    '-filter_complex', '[0][1]overlay=40:40', '-frames:v', '1', logo);
  studio = await startStudio('e2e_media', { storage: true, env: { CLIPLOOP_WORKERS: '0' } });
  ({ db, srv, browser } = studio);
});

after(async () => {
  await studio?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function projectPage(mobile) {
  const page = await demoContext(browser, srv.url, mobile ? { mobile } : { viewport: DESKTOP });
  const { body } = await page.call('GET', '/api/projects');
  let id = body.projects[0]?.id;
  if (!id) {
    const p = await page.call('POST', '/api/projects', {
      name: 'Crumbs Bakery', project_type: 'business', business_name: 'Crumbs Bakery', category: 'Bakery', city: 'Leeds', target_audience: 'Families nearby',
      primary_offer: 'Sourdough Saturdays', cta: 'Order for pick-up', preferred_channels: ['instagram'], language_style: 'english',
      onboarding_step: 'done' });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    id = p.body.id;
  }
  return { page, id };
}

test('phone: a photo from the camera roll uploads with progress and lands in the library', async () => {
  const { page, id } = await projectPage(true);
  await page.goto(`${srv.url}/app/projects/${id}`);
  await page.getByRole('link', { name: 'Open media' }).click();
  await page.waitForURL(`**/app/projects/${id}/media`);
  await page.getByRole('heading', { name: 'Add media' }).waitFor();
  await page.getByText('No media yet').waitFor();
  const input = page.locator('input[type=file]');
  assert.equal(await input.getAttribute('accept'), 'image/*,audio/*,.ttf,.otf');
  assert.equal(await input.getAttribute('multiple'), '');
  await input.setInputFiles(photo);
  await page.locator('[data-uploads] .badge.ok').filter({ hasText: 'Added' }).waitFor();
  assert.match(await page.locator('[data-uploads]').innerText(), /IMG_0042\.jpg[\s\S]*1200×900/);
  const tile = page.locator('[data-library] .media-tile').first();
  await tile.waitFor();
  const img = tile.locator('img');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  assert.equal(await img.evaluate((el) => el.naturalWidth), 1200, 'the normalized image is served');
  // nothing is wider than the phone
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page overflows by ${overflow}px`);

  // a text file disguised as a photo: refused by the server, said calmly
  await input.setInputFiles({ name: 'holiday.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not really a photo') });
  await page.getByText('This file is not an image, audio or font we can read.').waitFor();
  // over 20 MB: refused before sending
  await input.setInputFiles({ name: 'huge.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(20 * 1024 * 1024 + 10) });
  await page.getByText(/is larger than 20 MB/).waitFor();
  await screenshot(page, 'media-phone');
  assert.deepEqual(problems(page, [/\/api\/projects\/\d+\/media( 415|$)/, /status of 415/]), []);
});

test('desktop: brand kit with colours from the logo, font preview and placement', async () => {
  const { page, id } = await projectPage(false);
  await page.goto(`${srv.url}/app/projects/${id}/media`);
  await page.getByRole('heading', { name: 'Brand kit' }).waitFor();
  await page.locator('input[type=file]').setInputFiles(logo);
  await page.locator('[data-library] button', { hasText: 'Use as logo' }).nth(0).waitFor();
  // the logo is the newest tile (first)
  await page.locator('[data-library] .media-tile').filter({ hasText: 'logo.png' }).getByRole('button', { name: 'Use as logo' }).click();
  await page.locator('img.kit-logo').waitFor();
  await page.getByRole('button', { name: 'Take from logo' }).click();
  await page.getByText(/Took \d colours? from your logo/).waitFor();
  const first = await page.locator('[data-swatches] .swatch .mono').first().innerText();
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(first.slice(i, i + 2), 16));
  assert.ok(Math.abs(r - 0xc0) < 24 && Math.abs(g - 0x39) < 24 && Math.abs(b - 0x2b) < 24, `logo colour ${first}`);
  await page.getByLabel('Heading font').selectOption('noto-serif-bold');
  await page.getByLabel('Top left').check();
  await page.waitForFunction(() => /cl-noto-serif-bold/.test(getComputedStyle(document.querySelector('[data-preview-heading]')).fontFamily));
  await page.getByRole('button', { name: 'Save brand kit' }).click();
  await page.locator('[data-kit-status] .badge.ok').waitFor();
  const kit = (await page.call('GET', `/api/projects/${id}/brand-kit`)).body.brand_kit;
  assert.equal(kit.heading_font, 'noto-serif-bold');
  assert.equal(kit.logo_placement, 'top-left');
  assert.equal(kit.colors[0], first);
  assert.ok(kit.logo, 'the logo is saved');
  await screenshot(page, 'media-desktop');

  // website suggestions: keep one, discard the other (rows marked as ingestion would leave them)
  const ids = [];
  for (const [name, colour] of [['shop-front.jpg', 'orange'], ['banner.jpg', 'teal']]) {
    const f = path.join(tmp, name);
    spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${colour}:s=900x600`, '-frames:v', '1', f]);
    const r = await page.context().request.post(`${srv.url}/api/projects/${id}/media`, {
      data: fs.readFileSync(f), headers: { 'x-csrf-token': page.csrf, 'x-filename': name } });
    ids.push((await r.json()).media.id);
  }
  psql(db.url, `UPDATE media_assets SET origin = 'website', status = 'suggested' WHERE id IN (${ids.join(',')})`);
  await page.reload();
  const sug = page.locator('[data-suggested] .media-tile');
  await sug.first().waitFor();
  assert.equal(await sug.count(), 2);
  await sug.filter({ hasText: 'shop-front.jpg' }).getByRole('button', { name: 'Keep' }).click();
  await page.locator('[data-library] .media-tile').filter({ hasText: 'shop-front.jpg' }).waitFor();
  await sug.filter({ hasText: 'banner.jpg' }).getByRole('button', { name: 'Discard' }).click();
  await page.getByText('No website images waiting').waitFor();
  assert.equal(await page.locator('[data-library] .media-tile').filter({ hasText: 'banner.jpg' }).count(), 0);
  assert.deepEqual(psql(db.url, `SELECT status FROM media_assets WHERE id IN (${ids.join(',')}) ORDER BY id`).map((r) => r[0]), ['kept', 'discarded']);
  const phone = (await projectPage(true)).page;
  await phone.goto(`${srv.url}/app/projects/${id}/media`);
  await phone.locator('img.kit-logo').waitFor();
  await phone.locator('[data-kit-card]').scrollIntoViewIfNeeded();
  await screenshot(phone, 'media-phone-brand-kit');
  assert.deepEqual(problems(page), []);
});

test('phone: onboarding takes the logo and the brand colours from it', async () => {
  const page = await newPage(browser, { mobile: true });
  const mail = 'crumbs-onboarding@example.com';
  await signUpForOnboarding(page, srv, db.url, mail);
  await page.getByLabel('Project name').fill('Crumbs');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Category').fill('Bakery');
  await page.getByLabel('City').fill('Leeds');
  await page.getByLabel('What do you sell?').fill('Sourdough and cakes');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Who buys from you?').fill('Families nearby');
  await page.getByLabel('Language style').selectOption('english');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('checkbox', { name: 'Instagram' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Your logo (optional)').setInputFiles(logo);
  await screenshot(page, 'media-onboarding-logo-phone');
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.waitForURL(/\/app$/);
  const pid = psql(db.url, `SELECT p.id FROM projects p JOIN users u ON u.id = p.owner_id WHERE u.email = '${mail}'`)[0][0];
  const kit = (await page.context().request.get(`${srv.url}/api/projects/${pid}/brand-kit`).then((r) => r.json())).brand_kit;
  assert.equal(kit.logo?.filename, 'logo.png');
  assert.equal(kit.colors.length, 1, `one colour in the logo: ${kit.colors}`);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(kit.colors[0].slice(i, i + 2), 16));
  assert.ok(Math.abs(r - 0xc0) < 24 && Math.abs(g - 0x39) < 24 && Math.abs(b - 0x2b) < 24, kit.colors[0]);
  assert.deepEqual(problems(page, [/\/api\/me\b.* 401$/, /status of 401/]), []);
});
