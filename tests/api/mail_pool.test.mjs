// mail_pool.test.mjs — the routes that send mail (sign-up, resend the
// confirmation, forgot password) wait on the mail server, up to
// MAIL_TIMEOUT_MS: they run on the provider pool like every route that waits
// on an outside service, so a hanging mail server holds none of the blocking
// pool's threads. Behaviour only: every assertion is about order (answered
// while the others are still outstanding), not about durations.
// run-alone: it holds mail deliveries open against a server with a two-thread blocking pool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql, until } from './lib/harness.mjs';
import { startSmtpFake } from '../fakes/smtp_fake.mjs';

let db, srv, smtp;

before(async () => {
  db = createDatabase('mail_pool');
  smtp = await startSmtpFake({ user: 'mailer', password: 's3cret-smtp' });
  srv = await startServer({
    dbUrl: db.url,
    env: {
      MOCK_MODE: 'false', LLM_PROVIDER: 'mock', CLIPLOOP_SCRYPT_LOG_N: '10',
      MAIL_PROVIDER: 'smtp', MAIL_SMTP_HOST: '127.0.0.1', MAIL_SMTP_PORT: String(smtp.port), MAIL_SMTP_TLS: 'none',
      MAIL_SMTP_USER: 'mailer', MAIL_SMTP_PASSWORD: 's3cret-smtp', MAIL_TIMEOUT_MS: '5000',
      MAIL_FROM: 'hello@cliploop.example',
      // two blocking-pool threads: three hanging deliveries there would hold both
      CLIPLOOP_HTTP_POOL_THREADS: '2',
    },
  });
});

after(async () => {
  await srv?.stop();
  await smtp?.close();
  db?.drop();
});

test('three sign-ups hanging at the mail server: all three reach it at once, a blocking-pool route answers meanwhile, nothing is written', async () => {
  smtp.mode = 'hang';
  const before = smtp.sessions;
  const signups = ['hang-a@example.com', 'hang-b@example.com', 'hang-c@example.com'].map((email) => {
    const s = { settled: false };
    s.done = apiClient(srv.url).signup(email).then((r) => { s.settled = true; return r; });
    return s;
  });
  // On the blocking pool (two threads) the third would wait for a thread.
  await until('three deliveries at the mail server at once', () => smtp.sessions === before + 3);
  const status = await fetch(srv.url + '/api/auth/verify-email?token=nope');
  assert.ok(status.status >= 400 && status.status < 500, String(status.status)); // answered (refused token)
  assert.equal(signups.filter((s) => s.settled).length, 0, 'every sign-up is still waiting on the mail server');
  for (const r of await Promise.all(signups.map((s) => s.done))) {
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'mail_timeout');
  }
  assert.equal(psql(db.url, "SELECT count(*) FROM users WHERE email LIKE 'hang-%'")[0][0], '0', 'no account without its confirmation mail');
  smtp.mode = 'ok';
});
