// Password hashing cost: new hashes use N = 2^17 by default; a log-in with a
// hash made at an older, cheaper cost replaces it with one at the configured
// cost (and the old password keeps working); a wrong password changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient, psql } from './lib/harness.mjs';

let db;
const hashOf = (email) => psql(db.url, `SELECT password_hash FROM users WHERE email = '${email}'`)[0][0];

before(() => { db = createDatabase('passwords'); });
after(() => { if (db) db.drop(); });

test('the default cost is 2^17; log-in rehashes an older cost, a wrong password does not', async () => {
  const dflt = await startServer({ dbUrl: db.url, env: { MOCK_MODE: 'true' } });
  try {
    assert.equal((await apiClient(dflt.url).signup('strong@example.com')).status, 201);
  } finally {
    await dflt.stop();
  }
  assert.match(hashOf('strong@example.com'), /^scrypt\$17\$8\$1\$/);

  const old = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '10' } });
  try {
    assert.equal((await apiClient(old.url).signup('legacy@example.com')).status, 201);
  } finally {
    await old.stop();
  }
  const before10 = hashOf('legacy@example.com');
  assert.match(before10, /^scrypt\$10\$/);

  const now = await startServer({ dbUrl: db.url, migrate: false, env: { MOCK_MODE: 'true', CLIPLOOP_SCRYPT_LOG_N: '11' } });
  try {
    const c = apiClient(now.url);
    assert.equal((await c.login('legacy@example.com', 'wrong-password')).status, 401);
    assert.equal(hashOf('legacy@example.com'), before10);
    assert.equal((await c.login('legacy@example.com', 'password123')).status, 200);
    const after11 = hashOf('legacy@example.com');
    assert.match(after11, /^scrypt\$11\$8\$1\$/);
    assert.notEqual(after11, before10);
    // The new hash verifies; logging in again leaves it alone.
    assert.equal((await apiClient(now.url).login('legacy@example.com', 'password123')).status, 200);
    assert.equal(hashOf('legacy@example.com'), after11);
    // A hash stronger than the configured cost is kept.
    assert.equal((await apiClient(now.url).login('strong@example.com', 'password123')).status, 200);
    assert.match(hashOf('strong@example.com'), /^scrypt\$17\$/);
  } finally {
    await now.stop();
  }
});
