// Address verification and password reset in the browser, offline (mock
// mode), at desktop (1440x900) and phone (390x844) size: sign-up with an
// approved invite lands on "check your inbox", the mail log shows the
// message, its link confirms the address and only then the invite applies;
// "Forgot password?" on the log-in page → mail log → reset page → the new
// password works and the old session is signed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../api/lib/harness.mjs';
import { newPage, screenshot, problems, DESKTOP, useStudio } from './lib/browser.mjs';

let db, srv, browser, storage;

useStudio('e2e_email', { env: { CLIPLOOP_SCRYPT_LOG_N: '10' }, storage: true }, (w) => ({ db, srv, browser, storage } = w));

const open = (mobile) => newPage(browser, mobile ? { mobile } : { viewport: DESKTOP });
// Signed-out pages ask /api/me once; a refused short password is a 422.
const EXPECTED = [/\/api\/me\b.* 401$/, /status of 401/, /password\/reset 422$/, /status of 422/,
  /verify-email\/resend 429$/, /status of 429/, / net::ERR_ABORTED$/];

test('desktop: the empty mail log offers a way on', async () => {
  const page = await open(false);
  await page.goto(srv.url + '/mail.html');
  await page.getByText('No mail yet').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Create an account' }).getAttribute('href'), '/signup.html');
  await screenshot(page, 'mail-log-empty-desktop');
  assert.deepEqual(problems(page, EXPECTED), []);
  await page.context().close();
});

for (const mobile of [false, true]) {
  const size = mobile ? 'phone' : 'desktop';

  test(`${size}: sign-up → check your inbox → mail log → the link confirms the address and the invite applies`, async () => {
    const email = `invited-${size}@example.com`;
    psql(db.url, `INSERT INTO access_requests (email, status, decided_at) VALUES ('${email}', 'approved', now())`);
    const page = await open(mobile);
    await page.goto(srv.url + '/signup.html');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/Password/).fill('a good long password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/verify-email\.html/);
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    assert.match(await page.locator('#verify-inbox').innerText(), new RegExp(`We sent a link to ${email}`));
    // The invite does not apply yet: the studio sends the account back here.
    await page.goto(srv.url + '/app');
    await page.waitForURL(/\/verify-email\.html/);
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    // Resend right away is refused calmly, with a countdown on the button.
    await page.getByRole('button', { name: 'Send a new link' }).click();
    await page.locator('#verify-inbox [data-error]').filter({ hasText: /try again in \d+ seconds/ }).waitFor();
    assert.match(await page.locator('#resend').innerText(), /Send a new link \(\d+ s\)/);
    assert.ok(await page.locator('#resend').isDisabled());
    await screenshot(page, `verify-check-inbox-${size}`);

    await page.getByRole('link', { name: 'Open the mail log' }).click();
    await page.waitForURL(/\/mail\.html/);
    const item = page.locator('.mail-item').filter({ hasText: email }).first();
    await item.waitFor();
    assert.match(await item.innerText(), /Confirm your e-mail address for ClipLoop/);
    await screenshot(page, `mail-log-messages-${size}`);
    await item.locator('a[href*="/verify-email.html?token="]').click();
    await page.getByRole('heading', { name: 'Address confirmed' }).waitFor();
    assert.match(await page.locator('#verify-link').innerText(), /your invitation applies/);
    await screenshot(page, `verify-confirmed-${size}`);
    await page.getByRole('link', { name: 'Continue to ClipLoop' }).click();
    await page.waitForURL((u) => !/verify-email|waitlist|login/.test(u.pathname));
    // In mock mode the studio's navigation leads to the mail log.
    await page.locator('#account:not([hidden])').waitFor({ state: 'attached' });
    assert.equal(await page.locator('#nav-mail-log').getAttribute('href'), '/mail.html');
    assert.equal(await page.locator('#nav-mail-log').getAttribute('hidden'), null);
    assert.equal(psql(db.url, `SELECT beta_approved, email_verified_at IS NOT NULL FROM users WHERE email = '${email}'`)[0].join(), 't,t');
    // The used link says so, with a way on.
    await page.goBack();
    await page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
    assert.match(await page.locator('#verify-link').innerText(), /already used/);
    assert.deepEqual(problems(page, [...EXPECTED, /verify-email\?token=\S+ 410$/, /status of 410/]), []);
    await page.context().close();
  });

  test(`${size}: forgot password → mail log → reset page → the new password works, the old session is signed out`, async () => {
    const email = `forgetful-${size}@example.com`;
    // An account signed in elsewhere (another browser).
    const other = await open(mobile);
    await other.goto(srv.url + '/signup.html');
    await other.getByLabel('Email').fill(email);
    await other.getByLabel(/Password/).fill('the old password');
    await other.getByRole('button', { name: 'Create account' }).click();
    await other.waitForURL(/\/verify-email\.html/);
    psql(db.url, `DELETE FROM mail_sends WHERE email = '${email}'`); // the sign-up mail was just sent

    const page = await open(mobile);
    await page.goto(srv.url + '/login.html');
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(/\/forgot-password\.html/);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send the reset link' }).click();
    await page.locator('#forgot-done').waitFor();
    assert.match(await page.locator('#forgot-done').innerText(), /If an account uses this address/);
    await screenshot(page, `forgot-sent-${size}`);
    await page.getByRole('link', { name: /Open the mail log/ }).click();
    const item = page.locator('.mail-item').filter({ hasText: 'Reset your ClipLoop password' }).filter({ hasText: email }).first();
    await item.waitFor();
    await item.locator('a[href*="/reset-password.html?token="]').click();
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.locator('#reset-for').waitFor(); // shown once the token's check has answered and filled it in
    assert.match(await page.locator('#reset-for').innerText(), new RegExp(email));
    await page.getByLabel(/New password/).fill('short');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.locator('[data-error-for="password"]').filter({ hasText: /at least 8 characters/ }).waitFor();
    await page.getByLabel(/New password/).fill('a brand new password');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText('Your password was changed').waitFor();
    await screenshot(page, `reset-done-${size}`);

    // The other browser's session is gone.
    await other.goto(srv.url + '/app');
    await other.waitForURL(/\/login\.html/);
    // The new password signs in.
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a brand new password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((u) => !/login/.test(u.pathname));
    await screenshot(page, `reset-signed-in-${size}`);
    assert.deepEqual(problems(page, EXPECTED), []);
    await other.context().close();
    await page.context().close();
  });
}
