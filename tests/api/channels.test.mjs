// Channel connections against the fake Instagram API: the OAuth connect flow
// with a signed, single-use, expiring state bound to the user and project
// (forged, replayed, expired, foreign → refused); the token sealed with
// AES-256-GCM (the database never holds it in clear) and the key rotation;
// status and disconnect; the daily refresh; and the signed public media URLs
// that Instagram downloads the video from (Range; expired or tampered → 404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, psql, cliploop, startProcess, apiClient } from './lib/harness.mjs';
import { startInstagramFake } from '../fakes/instagram_fake.mjs';
import {
  SECRET, SECRET_2, keyId, signToken, startPublishingServer, userWithProject, connectInstagram, renderedItem,
} from './lib/publishing.mjs';

let db, srv, fake, storage;

before(async () => {
  db = createDatabase('channels');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-channels-'));
  fake = await startInstagramFake();
  // No worker children: each test that needs one starts its own (the rotation
  // test needs one with the rotated secret).
  srv = await startPublishingServer({ db, fake, storage });
});

after(async () => {
  if (srv) await srv.stop();
  if (fake) await fake.close();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('connect: the state is signed, bound to user and project, single use; the token is stored sealed', async () => {
  const { c, projectId } = await userWithProject(srv, 'ada@example.com');
  let r = await c.get(`/api/projects/${projectId}/channels`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.channels, []);
  assert.equal(r.body.available.instagram, true);

  const { start, callbackUrl, done } = await connectInstagram(srv, c, projectId);
  const auth = new URL(start.headers.get('location'));
  assert.equal(auth.origin + auth.pathname, `${fake.url}/oauth/authorize`);
  assert.equal(auth.searchParams.get('client_id'), fake.clientId);
  assert.equal(auth.searchParams.get('response_type'), 'code');
  assert.match(auth.searchParams.get('scope'), /instagram_business_content_publish/);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.status, 'active');
  assert.equal(done.body.username, 'mamaputkitchen');

  // The long-lived token the fake issued is nowhere in the database in clear.
  const longTokens = [...fake.state.tokens].filter(([, v]) => v.kind === 'long').map(([k]) => k);
  assert.equal(longTokens.length, 1);
  const row = psql(db.url, `SELECT encode(token_ciphertext, 'hex'), token_key_id, status, account_id,
      token_expires_at > now() + interval '59 days', token_expires_at < now() + interval '61 days'
    FROM channel_connections WHERE project_id = ${projectId}`)[0];
  assert.equal(row[1], keyId(SECRET));
  assert.deepEqual(row.slice(2), ['active', fake.account.userId, 't', 't']);
  const dump = psql(db.url, `SELECT row_to_json(c)::text FROM channel_connections c`).flat().join('\n');
  assert.ok(!dump.includes(longTokens[0]) && !dump.includes(Buffer.from(longTokens[0]).toString('hex')));
  assert.equal(Buffer.from(row[0], 'hex').length, longTokens[0].length + 12 + 16);

  // No API answer carries the token.
  r = await c.get(`/api/projects/${projectId}/channels`);
  assert.equal(r.body.channels[0].status, 'active');
  assert.equal(r.body.channels[0].username, 'mamaputkitchen');
  assert.ok(!r.text.includes(longTokens[0]) && !r.text.includes('token_ciphertext'));
  assert.ok(!srv.proc.log.includes(longTokens[0]), 'the token must never be logged');

  // Replayed: the same callback again is refused, and nothing changes.
  r = await c.get(callbackUrl);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'state_used');

  // Forged: a state signed with another secret, or edited, is refused.
  const payload = `${'a'.repeat(32)}.${c.user.id}.${projectId}.${Math.floor(Date.now() / 1000) + 600}`;
  for (const state of [signToken('some-other-secret-0123456789', 'oauth_state', payload),
    new URL(srv.url + callbackUrl).searchParams.get('state').replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')), 'garbage']) {
    r = await c.get(`/api/integrations/instagram/callback?code=x&state=${encodeURIComponent(state)}`);
    assert.equal(r.status, 400, state);
    assert.equal(r.body.error.code, 'invalid_state');
  }
  // A correctly signed state whose nonce was never issued is refused too.
  r = await c.get(`/api/integrations/instagram/callback?code=x&state=${encodeURIComponent(signToken(SECRET, 'oauth_state', payload))}`);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'state_used');
  assert.equal(fake.state.codes.size, 1, 'no refused callback reached the code exchange');
});

test('connect: an absurd expires_in from the platform is not trusted (no undefined cast, no failed connect)', async () => {
  const { c, projectId } = await userWithProject(srv, 'absurd-expiry@example.com');
  fake.state.expiresIn = 1e300;
  try {
    assert.equal((await connectInstagram(srv, c, projectId)).done.status, 200);
  } finally {
    delete fake.state.expiresIn;
  }
  const [[status, sane]] = psql(db.url, `SELECT status, token_expires_at BETWEEN now() AND now() + interval '61 days'
    FROM channel_connections WHERE project_id = ${projectId}`);
  assert.equal(status, 'active');
  assert.equal(sane, 't', 'an absurd lifetime falls back to the documented default, not an overflowed date');
});

test('connect: expired state, another user\'s state, denied authorization, a foreign project', async () => {
  const { c, projectId } = await userWithProject(srv, 'bo@example.com');
  // Expired: start, then age the stored state past its expiry.
  let start = await c.get(`/api/integrations/instagram/connect?project_id=${projectId}`, { redirect: 'manual' });
  let auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  let back = new URL(auth.headers.get('location'));
  psql(db.url, `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`);
  let r = await c.get(back.pathname + back.search);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'state_expired');

  // Another signed-in user cannot finish bo's connection.
  const eve = await userWithProject(srv, 'eve@example.com');
  start = await c.get(`/api/integrations/instagram/connect?project_id=${projectId}`, { redirect: 'manual' });
  auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  back = new URL(auth.headers.get('location'));
  r = await eve.c.get(back.pathname + back.search);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'invalid_state');
  // Nor start one on bo's project (404, as for any foreign id).
  r = await eve.c.get(`/api/integrations/instagram/connect?project_id=${projectId}`);
  assert.equal(r.status, 404);
  r = await eve.c.get(`/api/projects/${projectId}/channels`);
  assert.equal(r.status, 404);

  // The user says no on Instagram's page.
  fake.options.denyAuthorize = true;
  try {
    start = await c.get(`/api/integrations/instagram/connect?project_id=${projectId}`, { redirect: 'manual' });
    auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
    back = new URL(auth.headers.get('location'));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    r = await c.get(back.pathname + back.search);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'authorization_denied');
    // A browser is sent back to the project page with the reason.
    r = await c.get(back.pathname + back.search, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(r.status, 302);
  } finally {
    fake.options.denyAuthorize = false;
  }
  assert.equal(psql(db.url, `SELECT count(*) FROM channel_connections WHERE project_id = ${projectId}`)[0][0], '0');

  // The platform refusing the code exchange is a clear error, nothing stored.
  fake.failNext('code_exchange', { status: 400, body: { error_type: 'OAuthException', code: 400, error_message: 'Invalid redirect_uri' } });
  const { done } = await connectInstagram(srv, c, projectId);
  assert.equal(done.status, 502);
  assert.equal(done.body.error.code, 'connect_failed');
  assert.match(done.body.error.message, /Invalid redirect_uri/);
  assert.equal(psql(db.url, `SELECT count(*) FROM channel_connections WHERE project_id = ${projectId}`)[0][0], '0');

  // No session: 401.
  r = await fetch(`${srv.url}/api/integrations/instagram/connect?project_id=${projectId}`, { redirect: 'manual' });
  assert.equal(r.status, 401);
});

test('disconnect forgets the token; reconnect makes it active again', async () => {
  const { c, projectId } = await userWithProject(srv, 'cy@example.com');
  assert.equal((await connectInstagram(srv, c, projectId)).done.status, 200);
  let r = await c.post(`/api/projects/${projectId}/channels/instagram/disconnect`);
  assert.equal(r.status, 200);
  assert.deepEqual(psql(db.url, `SELECT status, token_ciphertext IS NULL, token_key_id IS NULL FROM channel_connections WHERE project_id = ${projectId}`)[0], ['disconnected', 't', 't']);
  r = await c.get(`/api/projects/${projectId}/channels`);
  assert.equal(r.body.channels[0].status, 'disconnected');
  assert.equal((await connectInstagram(srv, c, projectId)).done.status, 200);
  r = await c.get(`/api/projects/${projectId}/channels`);
  assert.equal(r.body.channels[0].status, 'active');
  r = await c.post(`/api/projects/${projectId}/channels/tiktok/disconnect`);
  assert.equal(r.status, 404);
});

test('rotation: after ENCRYPTION_SECRET changes, old tokens still decrypt and the refresh writes with the new key', async () => {
  const { c, projectId } = await userWithProject(srv, 'di@example.com');
  assert.equal((await connectInstagram(srv, c, projectId)).done.status, 200);
  const before = psql(db.url, `SELECT token_key_id, encode(token_ciphertext, 'hex') FROM channel_connections WHERE project_id = ${projectId}`)[0];
  assert.equal(before[0], keyId(SECRET));
  // Due for the daily refresh: older than 24 h, expiring within 10 days.
  psql(db.url, `UPDATE channel_connections SET token_refreshed_at = now() - interval '25 hours',
    token_expires_at = now() + interval '5 days' WHERE project_id = ${projectId}`);
  // One that expired already cannot be refreshed: it becomes expired.
  const other = await userWithProject(srv, 'ed@example.com');
  assert.equal((await connectInstagram(srv, other.c, other.projectId)).done.status, 200);
  psql(db.url, `UPDATE channel_connections SET token_expires_at = now() - interval '1 minute' WHERE project_id = ${other.projectId}`);

  // The rotated worker: new current secret, the old one kept as previous.
  const env = { ...srv.env, ENCRYPTION_SECRET: SECRET_2, ENCRYPTION_SECRET_PREVIOUS: SECRET };
  const refreshCalls = fake.state.requests.filter((q) => q.op === 'refresh').length;
  const job = cliploop(['jobs', 'enqueue', 'publishing.refresh_tokens', '{}'], env);
  assert.equal(job.status, 0, job.stderr);
  const jobId = JSON.parse(job.stdout).id;
  const worker = startProcess(['worker'], { ...env, CLIPLOOP_WORKERS: '0' });
  try {
    const deadline = Date.now() + 30000;
    let st;
    for (;;) {
      st = psql(db.url, `SELECT status, result::text FROM jobs WHERE id = ${jobId}`)[0];
      if (st[0] === 'completed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(st[0], 'completed', worker.log);
    // The refresh is done by this job or by the worker's own scheduled refresh
    // at start (whichever takes the advisory lock first); the outcome below is
    // what counts: refreshed, sealed with the new key.
  } finally {
    await worker.stop();
  }
  assert.ok(fake.state.requests.filter((q) => q.op === 'refresh').length > refreshCalls);
  const after_ = psql(db.url, `SELECT token_key_id, encode(token_ciphertext, 'hex'), token_refreshed_at > now() - interval '1 minute',
      token_expires_at > now() + interval '59 days', status FROM channel_connections WHERE project_id = ${projectId}`)[0];
  assert.equal(after_[0], keyId(SECRET_2));
  assert.notEqual(after_[1], before[1]);
  assert.deepEqual(after_.slice(2), ['t', 't', 'active']);
  assert.equal(psql(db.url, `SELECT status FROM channel_connections WHERE project_id = ${other.projectId}`)[0][0], 'expired');
  // The refreshed token is the fake's new one, and it was refreshed from the old one (decrypted with the previous key).
  const refreshed = [...fake.state.tokens.values()].filter((t) => t.refreshedFrom);
  assert.ok(refreshed.length >= 1);
});

test('public media URLs: no session, Range, expired or tampered → 404', async () => {
  const { c, projectId } = await userWithProject(srv, 'fay@example.com');
  const worker = startProcess(['worker'], srv.env);
  let item;
  try {
    item = await renderedItem(c, projectId, 'instagram');
  } finally {
    await worker.stop();
  }
  const video = item.assets.find((a) => a.kind === 'video');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const good = `/api/public/media/${signToken(SECRET, 'public_media', `a${video.id}.${exp}`)}`;
  let r = await fetch(srv.url + good);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(bytes.length, video.bytes);
  r = await fetch(srv.url + good, { headers: { range: 'bytes=0-99' } });
  assert.equal(r.status, 206);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes.subarray(0, 100));

  const expired = `/api/public/media/${signToken(SECRET, 'public_media', `a${video.id}.${Math.floor(Date.now() / 1000) - 5}`)}`;
  const otherAsset = `/api/public/media/${good.split('/').pop().replace(/^[^.]+/, Buffer.from(`a${video.id + 1}.${exp}`).toString('base64url'))}`;
  const otherPurpose = `/api/public/media/${signToken(SECRET, 'oauth_state', `a${video.id}.${exp}`)}`;
  for (const bad of [expired, otherAsset, otherPurpose, good.slice(0, -2) + 'AA', '/api/public/media/x.y']) {
    r = await fetch(srv.url + bad);
    assert.equal(r.status, 404, bad);
    assert.equal((await r.json()).error.code, 'not_found');
  }
});

test('a week\'s Instagram posts publish directly when the project can publish there, otherwise they are exported', async () => {
  // A project with an active Instagram connection, and one without.
  const on = await userWithProject(srv, 'strategy-on@example.com');
  assert.equal((await connectInstagram(srv, on.c, on.projectId)).done.status, 200);
  const off = await userWithProject(srv, 'strategy-off@example.com');
  // A deployment without the mock publisher (MOCK_MODE=false; the mock LLM writes the posts).
  const real = await startPublishingServer({ db, fake, storage, env: { MOCK_MODE: 'false', LLM_PROVIDER: 'mock' } });
  try {
    for (const [who, want] of [[on, 'direct_instagram'], [off, 'manual_export']]) {
      const c = apiClient(real.url);
      c.cookie = who.c.cookie;
      c.csrf = who.c.csrf;
      const cycle = await c.post(`/api/projects/${who.projectId}/strategy-cycles`, {});
      assert.ok([200, 201].includes(cycle.status), JSON.stringify(cycle.body));
      const cid = cycle.body.id ?? cycle.body.cycle?.id;
      const pack = await c.post(`/api/strategy-cycles/${cid}/generate-posts`, { request_id: `strategy-${want}-0001` });
      assert.equal(pack.status, 201, JSON.stringify(pack.body));
      const rows = psql(db.url, `SELECT DISTINCT channel, publish_strategy FROM content_items WHERE cycle_id = ${cid}`);
      assert.deepEqual(rows, [['instagram', want]], `${who.projectId}: ${JSON.stringify(rows)}`);
    }
  } finally {
    await real.stop();
  }
});
