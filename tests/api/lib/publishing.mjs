// publishing.mjs — shared set-up for the publishing tests: a server wired to
// the fake Instagram API, a signed-in approved user with a project, rendered
// items, and the HMAC/HKDF scheme of the host's signed tokens (recomputed
// here independently, so a test can mint an expired or forged token).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { apiClient, freePort, psql, startServer, RENDER_WAIT_MS } from './harness.mjs';

export const SECRET = 'test-encryption-secret-0123456789abcdef';
export const SECRET_2 = 'rotated-encryption-secret-abcdef0123456789';

export const DRAFT = {
  hook: 'Weekend jollof, half price',
  script: ['Smoky party jollof', 'Half price Saturday and Sunday', 'Order on WhatsApp'],
  caption: 'Half-price jollof this weekend only at Mama Put Kitchen. Come hungry!',
  cta: 'Order now',
  caption_hint: 'short and warm',
  hashtags: ['#jollof', '#lagosfood'],
  variants: {
    instagram: { hook: 'Half-price jollof, this weekend', caption: 'Half-price party jollof all weekend at Mama Put Kitchen.', cta: 'Tap the link in bio to order' },
    tiktok: { hook: 'POV: jollof at half price', caption: 'Half-price jollof all weekend', cta: 'Tap to order' },
  },
};

export const PROJECT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
  category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
  primary_offer: 'Party jollof trays', preferred_channels: ['instagram'], language_style: 'english',
};

/** Keys as host/core/seal.c derives them: HKDF-SHA256(secret, salt, label). */
export function deriveKey(secret, label) {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret), Buffer.from('cliploop-keyring-v1'), Buffer.from(label), 32));
}
export function keyId(secret) {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret), Buffer.from('cliploop-keyring-v1'), Buffer.from('key-id v1'), 8)).toString('hex');
}
/** A token as cl_sign makes it: base64url(payload) "." base64url(HMAC(purpose "\n" payload)). */
export function signToken(secret, purpose, payload) {
  const mac = crypto.createHmac('sha256', deriveKey(secret, 'signed-tokens v1')).update(`${purpose}\n${payload}`).digest();
  return `${Buffer.from(payload).toString('base64url')}.${mac.toString('base64url')}`;
}

/** Start serve with the fake Instagram wired in. extraEnv overrides. */
export async function startPublishingServer({ db, fake, storage, env = {} }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = await startServer({
    dbUrl: db.url, port,
    env: {
      MOCK_MODE: 'true', CLIPLOOP_WORKERS: '0', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
      CLIPLOOP_JOB_BACKOFF_MS: '100', ENCRYPTION_SECRET: SECRET, PUBLIC_BASE_URL: base,
      INSTAGRAM_CLIENT_ID: fake.clientId, INSTAGRAM_CLIENT_SECRET: fake.clientSecret,
      INSTAGRAM_REDIRECT_URI: `${base}/api/integrations/instagram/callback`,
      INSTAGRAM_AUTH_URL: `${fake.url}/oauth/authorize`, INSTAGRAM_API_URL: fake.url, INSTAGRAM_GRAPH_URL: fake.url,
      CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: String(fake.port),
      ...env,
    },
  });
  return srv;
}

/** A signed-up, beta-approved user with one project. Returns { c, projectId }. */
export async function userWithProject(srv, email) {
  const c = apiClient(srv.url);
  let r = await c.signup(email);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await c.post('/api/dev/approve-user', { email, plan: 'beta' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await c.post('/api/projects', PROJECT);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { c, projectId: r.body.project?.id ?? r.body.id };
}

/** Run the whole connect flow against the fake; returns the callback's answer. */
export async function connectInstagram(srv, c, projectId) {
  const start = await c.get(`/api/integrations/instagram/connect?project_id=${projectId}`, { redirect: 'manual' });
  assert.equal(start.status, 302, start.text);
  const auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  assert.equal(auth.status, 302);
  const back = new URL(auth.headers.get('location'));
  assert.equal(back.origin, srv.url);
  const done = await c.get(back.pathname + back.search, { redirect: 'manual' });
  return { start, callbackUrl: back.pathname + back.search, done };
}

/** Wait until fn() returns a truthy value (polling), or fail with the last value. */
export async function waitFor(fn, what, ms = RENDER_WAIT_MS, every = 150) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Store a draft item and render it with the real renderer (the worker must run). Returns the item. */
export async function renderedItem(c, projectId, channel = 'instagram', fetchItem = null) {
  let r = await c.post('/api/content-items', { project_id: projectId, channel, draft: DRAFT, title: `Jollof on ${channel}` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  r = await c.post(`/api/content-items/${id}/render`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return waitFor(async () => {
    const it = (await c.get(`/api/content-items/${id}`)).body;
    if (it.status === 'render_failed') throw new Error(`render failed: ${it.render_error}`);
    return it.status === 'rendered' && ['video', 'thumbnail'].every((k) => it.assets.some((a) => a.kind === k)) ? it : null;
  }, `item ${id} rendered`, 120000, 250);
}

/** A copy of a rendered item (same files), made in SQL so tests do not render again. */
export function copyItem(dbUrl, itemId, channel) {
  const id = psql(dbUrl, `INSERT INTO content_items (user_id, project_id, channel, title, draft, status, render_seq)
    SELECT user_id, project_id, ${channel ? `'${channel}'` : 'channel'}, title || ' (copy)', draft, status, render_seq
      FROM content_items WHERE id = ${itemId} RETURNING id`)[0][0];
  psql(dbUrl, `INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq)
    SELECT ${id}, kind, path, mime, bytes, renderer, render_seq FROM content_assets WHERE content_item_id = ${itemId}`);
  return Number(id);
}
