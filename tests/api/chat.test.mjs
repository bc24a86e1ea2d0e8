// The chat workspace over HTTP: conversations per user and project, free
// chat (never charged), generate_copy and generate_video run by the worker
// through the paid pipeline (draft, render, card, receipts), idempotent
// sends and retries (never a double charge), insufficient credits explained
// in the thread, a provider error with refund and retry, search, rename,
// delete, and isolation between users.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, apiClient, psql, demoProject, RENDER_WAIT_MS } from './lib/harness.mjs';

let db, srv, storage, c, projectId, userId, chatId;
const ENV = () => ({
  MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100',
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ledger = (prefix) => psql(db.url,
  `SELECT action, amount FROM credit_ledger_entries WHERE user_id = ${userId}
     AND (reference_key LIKE '${prefix}%' OR reference_key LIKE 'refund:${prefix}%') ORDER BY id`).map((r) => r.join(':'));
const ledgerCount = () => psql(db.url, `SELECT count(*) FROM credit_ledger_entries WHERE user_id = ${userId}`)[0][0];
let seq = 0;
const rid = (tag) => `req-${tag}-${process.pid}-${++seq}`;

/** Poll a chat job until pred(job) holds. */
async function waitJob(client, id, pred, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    const r = await client.get(`/api/chat-jobs/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    last = r.body.chat_job;
    if (pred(last)) return last;
    if (Date.now() > end) throw new Error(`chat job never matched: ${JSON.stringify(last)}`);
    await sleep(150);
  }
}
const final = (j) => j.status === 'completed' || j.status === 'failed';

async function send(client, chat, mode, content, requestId = rid(mode)) {
  const r = await client.post(`/api/chats/${chat}/messages`, { mode, content, request_id: requestId });
  return r;
}

before(async () => {
  db = createDatabase('chat');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-chat-storage-'));
  srv = await startServer({ dbUrl: db.url, env: ENV() });
  c = apiClient(srv.url);
  ({ userId, projectId } = await demoProject(c, db.url, {
    business_name: 'Ada Fabrics', category: 'Fashion', city: 'Lagos', target_audience: 'Young professionals',
    primary_offer: 'Ankara prints',
  }));
  assert.equal((await c.get('/api/create/cost')).status, 200); // the month's grant
  psql(db.url, `UPDATE credit_accounts SET generation_balance = 10, render_balance = 10 WHERE user_id = ${userId}`);
});

after(async () => {
  if (srv && process.env.CHAT_TEST_LOG) console.log(srv.proc.log); // debugging aid: the server's log
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

test('a conversation belongs to a project of the user; validation', async () => {
  let r = await c.post('/api/chats', { project_id: projectId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.title, '');
  assert.equal(r.body.project_id, projectId);
  chatId = r.body.id;
  r = await c.post('/api/chats', {});
  assert.equal(r.status, 422);
  r = await c.post('/api/chats', { project_id: 999999 });
  assert.equal(r.status, 404);
  r = await c.post(`/api/chats/${chatId}/messages`, { mode: 'shout', content: 'hi', request_id: rid('x') });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.mode);
  r = await c.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: '   ', request_id: rid('x') });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.content);
  r = await c.post(`/api/chats/${chatId}/messages`, { mode: 'chat', content: 'hello', request_id: 'x' });
  assert.equal(r.status, 422);
  assert.ok(r.body.error.fields.request_id);
});

test('free chat: a reply from the worker, a derived title, never charged, never blocked by balance', async () => {
  const before = ledgerCount();
  psql(db.url, `UPDATE credit_accounts SET generation_balance = 0, render_balance = 0 WHERE user_id = ${userId}`);
  try {
    const r = await send(c, chatId, 'chat', 'What should I post this week to sell more Ankara prints?');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.user_message.role, 'user');
    assert.equal(r.body.user_message.mode, 'chat');
    assert.deepEqual(r.body.user_message.cost, { generation: 0, render: 0 });
    // The worker may have answered before this reply was written (the mock is fast).
    assert.ok(['pending', 'done'].includes(r.body.assistant_message.status), r.body.assistant_message.status);
    assert.ok(['queued', 'running', 'completed'].includes(r.body.chat_job.status));
    assert.deepEqual(r.body.chat_job.steps.map((s) => s.name), ['reply']);
    const job = await waitJob(c, r.body.chat_job.id, final);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(job.receipts, []);
    assert.deepEqual(job.charged, { generation: 0, render: 0 });
    assert.equal(job.card, null);

    const thread = await c.get(`/api/chats/${chatId}/messages`);
    assert.equal(thread.status, 200);
    const msgs = thread.body.messages;
    assert.equal(msgs.length, 2);
    assert.equal(msgs[1].role, 'assistant');
    assert.equal(msgs[1].status, 'done');
    assert.ok(msgs[1].content.length > 20, msgs[1].content);
    assert.equal(thread.body.chat.title, 'What should I post this week to sell more Ankara prints?');
    assert.equal(ledgerCount(), before, 'no ledger rows for free chat');
  } finally {
    psql(db.url, `UPDATE credit_accounts SET generation_balance = 10, render_balance = 10 WHERE user_id = ${userId}`);
  }
});

test('generate_copy: one generation credit, a copy card, the channel from the request', async () => {
  const r = await send(c, chatId, 'generate_copy', 'Write a TikTok caption for our new Ankara prints drop');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(r.body.user_message.cost, { generation: 1, render: 0 });
  const job = await waitJob(c, r.body.chat_job.id, final);
  assert.equal(job.status, 'completed', JSON.stringify(job));
  assert.equal(job.channel, 'tiktok');
  assert.ok(job.card && job.card.caption && job.card.cta && job.card.hook, JSON.stringify(job.card));
  assert.equal(job.card.channel, 'tiktok');
  assert.equal(job.card.video_url, null);
  assert.deepEqual(job.steps.map((s) => [s.name, s.status]), [['credits', 'done'], ['brief', 'done'], ['draft', 'done']]);
  assert.deepEqual(job.receipts.map((x) => [x.action, x.amount]), [['generate_copy', -1]]);
  assert.deepEqual(job.charged, { generation: 1, render: 0 });
  assert.deepEqual(ledger(`chat_job:${job.id}:`), ['generate_copy:-1']);
  const item = psql(db.url, `SELECT source, request_key FROM content_items WHERE id = ${job.content_item_id}`)[0];
  assert.deepEqual(item, ['chat', `chat_job:${job.id}`]);
});

test('generate_video: draft, render, card with video, receipts generation 1 + render 1; resend is idempotent', async () => {
  const requestId = rid('video');
  const content = 'Generate a WhatsApp promo video for our weekend sale';
  const [a, b] = await Promise.all([send(c, chatId, 'generate_video', content, requestId),
    send(c, chatId, 'generate_video', content, requestId)]);
  assert.deepEqual([a.status, b.status].sort(), [200, 202], JSON.stringify([a.body, b.body]));
  assert.equal(a.body.chat_job.id, b.body.chat_job.id);
  const id = a.body.chat_job.id;
  assert.deepEqual(a.body.user_message.cost, { generation: 1, render: 1 });
  const job = await waitJob(c, id, final);
  assert.equal(job.status, 'completed', JSON.stringify(job));
  assert.equal(job.channel, 'whatsapp');
  const card = job.card;
  assert.equal(card.status, 'rendered');
  assert.equal(card.channel, 'whatsapp');
  assert.ok(card.caption && card.cta && card.hook, JSON.stringify(card));
  assert.match(card.video_url, /^\/api\/assets\/\d+$/);
  assert.match(card.download_url, /^\/api\/assets\/\d+\?download=1$/);
  assert.match(card.thumbnail_url, /^\/api\/assets\/\d+$/);
  assert.ok(job.steps.every((s) => s.status === 'done'), JSON.stringify(job.steps));
  assert.deepEqual(job.receipts.map((x) => [x.action, x.kind, x.amount]),
    [['generate_video.copy', 'generation', -1], ['generate_video.render', 'render', -1]]);
  assert.deepEqual(job.charged, { generation: 1, render: 1 });
  const video = await fetch(srv.url + card.video_url, { headers: { cookie: c.cookie } });
  assert.equal(video.status, 200);
  assert.equal(video.headers.get('content-type'), 'video/mp4');
  assert.ok((await video.arrayBuffer()).byteLength > 1000);

  // The thread shows the card on the assistant message, stored for good.
  const thread = (await c.get(`/api/chats/${chatId}/messages`)).body.messages;
  const reply = thread.find((m) => m.chat_job_id === id && m.role === 'assistant');
  assert.equal(reply.status, 'done');
  assert.match(reply.content, /WhatsApp promo video/);
  assert.equal(reply.card.video_url, card.video_url);
  assert.equal(psql(db.url, `SELECT card->>'video_url' FROM messages WHERE id = ${reply.id}`)[0][0], card.video_url);

  // A reconnect resends the same request: same job, no new messages, no charge.
  const count = thread.length;
  const again = await send(c, chatId, 'generate_video', content, requestId);
  assert.equal(again.status, 200);
  assert.equal(again.body.replayed, true);
  assert.equal(again.body.chat_job.id, id);
  const retry = await c.post(`/api/chat-jobs/${id}/retry`);
  assert.equal(retry.status, 200);
  assert.equal(retry.body.retried, false);
  assert.equal((await c.get(`/api/chats/${chatId}/messages`)).body.messages.length, count);
  // Both steps were charged together, under the chat job's reference.
  assert.deepEqual(ledger(`chat_job:${id}:`), ['generate_video.copy:-1', 'generate_video.render:-1']);
  assert.deepEqual(ledger(`content_item:${job.content_item_id}:render:`), []);
});

test('a video chat job completes when its render does, even if nobody is reading the thread', async () => {
  const r = await send(c, chatId, 'generate_video', 'Make an Instagram video for our Ankara prints sale');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = r.body.chat_job.id;
  // No API reads from here on (a read would complete it lazily): watch the database only.
  const end = Date.now() + RENDER_WAIT_MS;
  let row;
  for (;;) {
    row = psql(db.url, `SELECT cj.status, i.status FROM chat_jobs cj LEFT JOIN content_items i ON i.id = cj.content_item_id WHERE cj.id = ${id}`)[0];
    if (row[0] === 'completed' || row[0] === 'failed') break;
    if (Date.now() > end) throw new Error(`chat job stuck: ${row}`);
    await sleep(200);
  }
  assert.deepEqual(row, ['completed', 'rendered']);
});

test('insufficient credits: explained in the thread before any work, nothing charged; retry after top-up pays once', async () => {
  psql(db.url, `UPDATE credit_accounts SET render_balance = 0 WHERE user_id = ${userId}`);
  const items = psql(db.url, 'SELECT count(*) FROM content_items')[0][0];
  const r = await send(c, chatId, 'generate_video', 'Instagram reel for the Ankara sale');
  assert.equal(r.status, 202);
  const id = r.body.chat_job.id;
  const job = await waitJob(c, id, final);
  assert.equal(job.status, 'failed');
  assert.equal(job.error.code, 'insufficient_credits');
  assert.match(job.error.message, /1 render credit \(you have 0\)/);
  assert.match(job.error.message, /Nothing was charged/);
  assert.equal(job.can_retry, true);
  assert.deepEqual(job.steps.map((s) => [s.name, s.status]),
    [['credits', 'failed'], ['brief', 'pending'], ['draft', 'pending'], ['render', 'pending']]);
  assert.deepEqual(job.receipts, []);
  assert.equal(psql(db.url, 'SELECT count(*) FROM content_items')[0][0], items);
  const msg = (await c.get(`/api/chats/${chatId}/messages`)).body.messages.find((m) => m.chat_job_id === id && m.role === 'assistant');
  assert.equal(msg.status, 'failed');
  assert.equal(msg.content, job.error.message);

  psql(db.url, `UPDATE credit_accounts SET render_balance = 3 WHERE user_id = ${userId}`);
  const [x, y] = await Promise.all([c.post(`/api/chat-jobs/${id}/retry`), c.post(`/api/chat-jobs/${id}/retry`)]);
  assert.deepEqual([x.status, y.status].sort(), [200, 202], JSON.stringify([x.body, y.body]));
  const done = await waitJob(c, id, final);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.id, id);
  assert.equal(done.retries, 1);
  assert.deepEqual(done.charged, { generation: 1, render: 1 });
  assert.deepEqual(ledger(`chat_job:${id}:`), ['generate_video.copy:-1', 'generate_video.render:-1']);
});

test('provider error: the failure shows in the thread, the charge is refunded, retry after switching back pays once', async () => {
  // A brief from the working provider, so the failing one fails at the draft (after the charge).
  const brief = (await c.post('/api/create/brief', { project_id: projectId, prompt: 'Instagram promo for Ankara tote bags' })).body.brief;
  assert.ok(brief);
  await srv.stop();
  const failing = await startServer({ dbUrl: db.url, migrate: false, env: { ...ENV(), LLM_MOCK_FAIL: 'upstream' } });
  let id;
  try {
    const f = apiClient(failing.url);
    assert.equal((await f.demoLogin()).status, 200);
    // Free chat fails visibly too, with nothing charged.
    const chat = await send(f, chatId, 'chat', 'Any ideas for Friday?');
    const cj = await waitJob(f, chat.body.chat_job.id, final);
    assert.equal(cj.status, 'failed');
    assert.equal(cj.error.code, 'llm_failed');

    const r = await send(f, chatId, 'generate_copy', 'Instagram promo for Ankara tote bags');
    id = r.body.chat_job.id;
    const j1 = await waitJob(f, id, final);
    assert.equal(j1.status, 'failed');
    assert.equal(j1.error.code, 'llm_failed');
    assert.match(j1.error.message, /Nothing was charged/);
    assert.deepEqual(ledger(`chat_job:${id}:`), []);
    // Pretend the brief came from an earlier attempt: now the draft fails after the charge.
    psql(db.url, `UPDATE chat_jobs SET brief = '${JSON.stringify(brief).replace(/'/g, "''")}'::jsonb, channel = 'instagram' WHERE id = ${id}`);
    assert.equal((await f.post(`/api/chat-jobs/${id}/retry`)).status, 202);
    const j2 = await waitJob(f, id, final);
    assert.equal(j2.status, 'failed');
    assert.equal(j2.error.code, 'llm_failed');
    assert.match(j2.error.message, /refunded/);
    assert.deepEqual(j2.steps.find((s) => s.name === 'draft').status, 'failed');
    assert.deepEqual(j2.charged, { generation: 0, render: 0 });
    assert.deepEqual(ledger(`chat_job:${id}:`), ['generate_copy:-1', 'generate_copy:1']);
  } finally {
    await failing.stop();
    srv = await startServer({ dbUrl: db.url, migrate: false, env: ENV() });
    c = apiClient(srv.url);
    assert.equal((await c.demoLogin()).status, 200);
  }
  const retry = await c.post(`/api/chat-jobs/${id}/retry`);
  assert.equal(retry.status, 202, JSON.stringify(retry.body));
  const done = await waitJob(c, id, final);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.ok(done.card.caption);
  assert.deepEqual(done.charged, { generation: 1, render: 0 });
  assert.deepEqual(ledger(`chat_job:${id}:`), ['generate_copy:-1', 'generate_copy:1', 'generate_copy:-1']);
  // Retrying the finished job changes nothing.
  assert.equal((await c.post(`/api/chat-jobs/${id}/retry`)).body.retried, false);
  assert.deepEqual(ledger(`chat_job:${id}:`), ['generate_copy:-1', 'generate_copy:1', 'generate_copy:-1']);
});

test('search, rename (kept over later messages), list order, delete', async () => {
  const other = (await c.post('/api/chats', { project_id: projectId, title: 'Pricing ideas' })).body;
  assert.equal(other.title_edited, true);
  let r = await c.get('/api/chats?q=' + encodeURIComponent('WEEKEND sale'));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.chats.map((x) => x.id), [chatId]);
  r = await c.get('/api/chats?q=pricing');
  assert.deepEqual(r.body.chats.map((x) => x.id), [other.id]);
  r = await c.get('/api/chats?q=' + encodeURIComponent("%' OR 1=1 --"));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.chats, []);
  r = await c.get('/api/chats');
  assert.deepEqual(r.body.chats.map((x) => x.id), [other.id, chatId]);
  assert.ok(r.body.chats[1].message_count >= 8);

  r = await c.request('PATCH', `/api/chats/${chatId}`, { title: 'Ankara campaign' });
  assert.equal(r.status, 200);
  assert.equal(r.body.title, 'Ankara campaign');
  r = await c.request('PATCH', `/api/chats/${chatId}`, { title: '' });
  assert.equal(r.status, 422);
  const fresh = (await c.post('/api/chats', { project_id: projectId })).body;
  const m = await send(c, fresh.id, 'chat', 'First line becomes the title\nsecond line does not');
  await waitJob(c, m.body.chat_job.id, final);
  assert.equal((await c.get(`/api/chats/${fresh.id}`)).body.title, 'First line becomes the title second line does not');
  await c.request('PATCH', `/api/chats/${fresh.id}`, { title: 'Renamed' });
  const m2 = await send(c, fresh.id, 'chat', 'Another question');
  await waitJob(c, m2.body.chat_job.id, final);
  assert.equal((await c.get(`/api/chats/${fresh.id}`)).body.title, 'Renamed');

  r = await c.request('DELETE', `/api/chats/${other.id}`);
  assert.equal(r.status, 200);
  assert.equal((await c.get(`/api/chats/${other.id}`)).status, 404);
});

test('isolation: another user sees none of it and can touch none of it', async () => {
  const jobId = psql(db.url, `SELECT max(id) FROM chat_jobs WHERE conversation_id = ${chatId}`)[0][0];
  const m = apiClient(srv.url);
  assert.equal((await m.signup('mallory@example.com')).status, 201);
  assert.equal((await m.post('/api/dev/approve-user', { email: 'mallory@example.com', plan: 'beta' })).status, 200);
  let r = await m.get('/api/chats');
  assert.deepEqual(r.body.chats, []);
  assert.deepEqual((await m.get('/api/chats?q=ankara')).body.chats, []);
  for (const [method, p, body] of [
    ['GET', `/api/chats/${chatId}`], ['PATCH', `/api/chats/${chatId}`, { title: 'mine' }],
    ['DELETE', `/api/chats/${chatId}`], ['GET', `/api/chats/${chatId}/messages`],
    ['POST', `/api/chats/${chatId}/messages`, { mode: 'chat', content: 'hi', request_id: rid('steal') }],
    ['GET', `/api/chat-jobs/${jobId}`], ['POST', `/api/chat-jobs/${jobId}/retry`, {}],
    ['POST', '/api/chats', { project_id: projectId }],
  ]) {
    r = await m.request(method, p, body);
    assert.equal(r.status, 404, `${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  // Signed out: 401.
  r = await apiClient(srv.url).get('/api/chats');
  assert.equal(r.status, 401);
  assert.equal((await c.get(`/api/chats/${chatId}`)).body.title, 'Ankara campaign');
});
