// What the studio's lists show of other rows is stored on the listed row
// (migrations 0030 and 0031) and stays right however those rows change:
//  * a conversation's message_count and preview (GET /api/chats) after
//    messages are sent and answered by the worker, inserted, emptied again
//    (a retried reply), edited and deleted;
//  * a content item's list thumbnails (GET /api/content-items) after a real
//    render stores its assets, after later renders' assets are stored
//    with or without thumbnails, and after thumbnail rows are deleted.
// Each check compares the list with what the messages and assets themselves
// say at that moment (SQL on messages, the item route's assets), so a
// missing update of the stored fields fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, psql, betaUser, waitRendered } from './lib/harness.mjs';
import { DRAFT as PUBLISH_DRAFT, PROJECT as PUBLISH_PROJECT } from './lib/publishing.mjs';

let db, srv, storage, alice, uid, projectId;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const rid = () => `sum-${process.pid}-${++seq}`;

before(async () => {
  db = createDatabase('summaries');
  storage = mkdtempSync(path.join(tmpdir(), 'cliploop-summaries-'));
  srv = await startServer({
    dbUrl: db.url,
    env: { MOCK_MODE: 'true', CLIPLOOP_WORKERS: '1', CLIPLOOP_STORAGE_DIR: storage, CLIPLOOP_JOB_POLL_MS: '100' },
  });
  alice = await betaUser(srv.url, 'lister@example.com');
  uid = psql(db.url, "SELECT id FROM users WHERE email = 'lister@example.com'")[0][0];
  const p = await alice.post('/api/projects', { ...PUBLISH_PROJECT, preferred_channels: ['tiktok'] });
  assert.equal(p.status, 201, p.text);
  projectId = p.body.project?.id ?? p.body.id;
  assert.equal((await alice.get('/api/me/credits')).status, 200); // the month's grant
  psql(db.url, `UPDATE credit_accounts SET generation_balance = 10, render_balance = 10 WHERE user_id = ${uid}`);
});

after(async () => {
  if (srv) await srv.stop();
  if (db) db.drop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** cl_truncate_words (host/create/create.c) for text of ASCII blanks: at most
    max characters, cut before the word that does not fit, then "…". */
function truncateWords(s, max) {
  const ch = [...s];
  if (ch.length <= max) return s;
  const blank = (c) => c !== undefined && ' \t\n\v\f\r'.includes(c);
  let end = max - 1;
  if (!blank(ch[end])) {
    let p = end;
    while (p > 0 && !blank(ch[p - 1])) p--;
    if (p > 0) end = p;
  }
  while (end > 0 && (blank(ch[end - 1]) || ',;:-('.includes(ch[end - 1]))) end--;
  return ch.slice(0, end).join('') + '\u2026';
}

/** The conversation as GET /api/chats lists it. */
async function listed(chatId) {
  const r = await alice.get('/api/chats');
  assert.equal(r.status, 200, r.text);
  const c = r.body.chats.find((x) => x.id === chatId);
  assert.ok(c, `conversation ${chatId} not listed`);
  return c;
}

/** The list agrees with the messages: their count, and the newest text cut to 120 characters. */
async function assertChatSummary(chatId, what) {
  const [[count, newest]] = psql(db.url, `SELECT count(*), (SELECT content FROM messages
      WHERE conversation_id = ${chatId} AND content <> '' ORDER BY id DESC LIMIT 1)
    FROM messages WHERE conversation_id = ${chatId}`);
  const c = await listed(chatId);
  assert.equal(c.message_count, Number(count), `${what}: message_count`);
  assert.equal(c.preview, newest === '' || newest === null ? null : truncateWords(newest, 120), `${what}: preview`);
  const one = await alice.get(`/api/chats/${chatId}`);
  assert.equal(one.body.message_count, c.message_count, `${what}: the conversation route`);
  assert.equal(one.body.preview, c.preview, `${what}: the conversation route`);
  return c;
}

const sqlText = (s) => `'${s.replaceAll("'", "''")}'`;
const insertMessage = (chatId, role, content) => psql(db.url, `INSERT INTO messages (conversation_id, user_id, role, mode, content)
    VALUES (${chatId}, ${uid}, '${role}', 'chat', ${sqlText(content)}) RETURNING id`)[0][0];

test('a conversation\'s message count and preview follow its messages through sends, replies, retries, edits and deletes', async () => {
  const chat = await alice.post('/api/chats', { project_id: projectId, title: 'Summaries' });
  assert.equal(chat.status, 201, chat.text);
  const id = chat.body.id;
  let c = await assertChatSummary(id, 'new');
  assert.equal(c.message_count, 0);
  assert.equal(c.preview, null);

  // A real send: the user's message and a pending (empty) reply in one
  // transaction, then the worker fills the reply in.
  const sent = await alice.post(`/api/chats/${id}/messages`, {
    mode: 'chat', content: 'What should we post for the weekend market?', request_id: rid(),
  });
  assert.equal(sent.status, 202, sent.text);
  c = await assertChatSummary(id, 'sent');
  assert.equal(c.message_count, 2);
  for (let i = 0; ; i++) {
    const [[status]] = psql(db.url, `SELECT status FROM messages WHERE conversation_id = ${id} AND role = 'assistant'`);
    if (status !== 'pending') break;
    assert.ok(i < 600, 'the reply never came');
    await sleep(100);
  }
  c = await assertChatSummary(id, 'answered');
  const [[reply]] = psql(db.url, `SELECT content FROM messages WHERE conversation_id = ${id} AND role = 'assistant'`);
  assert.notEqual(reply, '');
  assert.equal(c.preview, truncateWords(reply, 120));

  // A long text: the row keeps 121 characters, the list cuts them as it
  // would cut the whole text (on a word boundary, then "…").
  const long = 'Fresh bread every morning, ' + 'sourdough rye spelt '.repeat(20) + 'and more';
  const longId = insertMessage(id, 'user', long);
  c = await assertChatSummary(id, 'long');
  assert.ok(c.preview.endsWith('\u2026') && [...c.preview].length <= 120, c.preview);
  const edge = 'x'.repeat(115) + ' bcdefgh and then some more words'; // the cut falls inside the 121 stored
  const edgeId = insertMessage(id, 'user', edge);
  c = await assertChatSummary(id, 'cut at the boundary');
  assert.equal(c.preview, 'x'.repeat(115) + '\u2026');
  psql(db.url, `DELETE FROM messages WHERE id = ${edgeId}`);
  await assertChatSummary(id, 'boundary message deleted');

  // A pending reply (no text) counts, and leaves the preview where it was.
  const pendingId = psql(db.url, `INSERT INTO messages (conversation_id, user_id, role, mode, content, status)
      VALUES (${id}, ${uid}, 'assistant', 'chat', '', 'pending') RETURNING id`)[0][0];
  c = await assertChatSummary(id, 'pending reply');
  assert.equal(c.preview, truncateWords(long, 120));
  psql(db.url, `UPDATE messages SET content = 'Post the rye at 7am.', status = 'done' WHERE id = ${pendingId}`);
  c = await assertChatSummary(id, 'reply filled');
  assert.equal(c.preview, 'Post the rye at 7am.');
  // A retry empties the reply again: the preview goes back to the newest text.
  psql(db.url, `UPDATE messages SET content = '', status = 'pending' WHERE id = ${pendingId}`);
  c = await assertChatSummary(id, 'reply emptied');
  assert.equal(c.preview, truncateWords(long, 120));
  // Editing an older message's text leaves the newest preview alone.
  psql(db.url, `UPDATE messages SET content = 'an older edit' WHERE conversation_id = ${id} AND role = 'user'
      AND id < ${longId}`);
  c = await assertChatSummary(id, 'older message edited');
  assert.equal(c.preview, truncateWords(long, 120));
  // Deleting the message that is the preview hands it to the one before.
  psql(db.url, `DELETE FROM messages WHERE id = ${longId}`);
  c = await assertChatSummary(id, 'preview message deleted');
  assert.equal(c.preview, truncateWords(reply, 120));
  // Deleting an older message only counts.
  psql(db.url, `DELETE FROM messages WHERE conversation_id = ${id} AND role = 'user' AND id < ${longId}`);
  await assertChatSummary(id, 'older message deleted');
  psql(db.url, `DELETE FROM messages WHERE conversation_id = ${id}`);
  c = await assertChatSummary(id, 'all deleted');
  assert.deepEqual([c.message_count, c.preview], [0, null]);

  // Deleting the conversation takes its messages along (nothing to keep right).
  assert.equal((await alice.request('DELETE', `/api/chats/${id}`)).status, 200);
  assert.equal(psql(db.url, `SELECT count(*) FROM messages WHERE conversation_id = ${id}`)[0][0], '0');
});

/** The item as GET /api/content-items lists it. */
async function listedItem(itemId) {
  const r = await alice.get('/api/content-items?limit=100');
  assert.equal(r.status, 200, r.text);
  const it = r.body.items.find((x) => x.id === itemId);
  assert.ok(it, `item ${itemId} not listed`);
  return it;
}

/** The list's assets agree with the item route's: the thumbnails of the newest render that has any. */
async function assertThumbs(itemId, what) {
  const one = await alice.get(`/api/content-items/${itemId}`);
  assert.equal(one.status, 200, one.text);
  const thumbs = one.body.assets.filter((a) => a.kind === 'thumbnail' || a.kind === 'thumbnail_small');
  const newest = Math.max(...thumbs.map((a) => a.render_seq));
  const want = thumbs.filter((a) => a.render_seq === newest).sort((a, b) => a.kind.localeCompare(b.kind))
    .map((a) => ({ id: a.id, kind: a.kind, render_seq: a.render_seq, url: `/api/assets/${a.id}` }));
  const it = await listedItem(itemId);
  assert.deepEqual(it.assets, want, what);
  return it.assets;
}

const insertAssets = (itemId, renderSeq, kinds) => psql(db.url, `INSERT INTO content_assets
    (content_item_id, kind, path, mime, bytes, renderer, render_seq)
    SELECT ${itemId}, k, 'r/${itemId}-' || ${renderSeq} || '-' || k, 'image/jpeg', 10, 'ffmpeg', ${renderSeq}
    FROM unnest(ARRAY[${kinds.map((k) => `'${k}'`).join(',')}]) k`);

test('a content item\'s list thumbnails follow its assets through a render, later renders and deletes', async () => {
  const draft = { ...PUBLISH_DRAFT, variants: { tiktok: PUBLISH_DRAFT.variants.tiktok } };
  const r = await alice.post('/api/content-items', { project_id: projectId, channel: 'tiktok', draft, title: 'Rye Friday' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.deepEqual(await assertThumbs(id, 'a draft'), []);

  // A real render stores its video and both thumbnails in one transaction.
  assert.equal((await alice.post(`/api/content-items/${id}/render`)).status, 202);
  const done = await waitRendered(alice, id);
  assert.equal(done.status, 'rendered', JSON.stringify(done));
  let a = await assertThumbs(id, 'rendered');
  assert.deepEqual(a.map((x) => [x.kind, x.render_seq]), [['thumbnail', 1], ['thumbnail_small', 1]]);

  // A later render without thumbnails keeps the first one's.
  insertAssets(id, 2, ['video']);
  a = await assertThumbs(id, 'render 2: video only');
  assert.equal(a[0].render_seq, 1);
  // Its thumbnail arrives: the newest render's, alone until its small one does.
  insertAssets(id, 2, ['thumbnail']);
  a = await assertThumbs(id, 'render 2: thumbnail');
  assert.deepEqual(a.map((x) => [x.kind, x.render_seq]), [['thumbnail', 2]]);
  insertAssets(id, 2, ['thumbnail_small', 'thumbnail_1x1']);
  a = await assertThumbs(id, 'render 2: both thumbnails');
  assert.deepEqual(a.map((x) => [x.kind, x.render_seq]), [['thumbnail', 2], ['thumbnail_small', 2]]);
  // Deleting the newest render's thumbnails falls back to the render before.
  psql(db.url, `DELETE FROM content_assets WHERE content_item_id = ${id} AND render_seq = 2 AND kind = 'thumbnail_small'`);
  await assertThumbs(id, 'render 2: small one deleted');
  psql(db.url, `DELETE FROM content_assets WHERE content_item_id = ${id} AND render_seq = 2 AND kind = 'thumbnail'`);
  a = await assertThumbs(id, 'render 2: thumbnails deleted');
  assert.equal(a[0].render_seq, 1);
  psql(db.url, `DELETE FROM content_assets WHERE content_item_id = ${id}`);
  assert.deepEqual(await assertThumbs(id, 'every asset deleted'), []);
});

test("a project's document count and a conversation's project name follow documents, renames and moves", async () => {
  // A second project (archived: the plan allows one active project).
  const [[otherId]] = psql(db.url, `INSERT INTO projects (owner_id, name, project_type, status)
    VALUES (${uid}, 'Second shop', 'business', 'archived') RETURNING id`).map((r) => [Number(r[0])]);
  /** The project list, the project route and the documents themselves agree. */
  const assertCounts = async (what) => {
    const list = (await alice.get('/api/projects')).body.projects;
    for (const id of [projectId, otherId]) {
      const [[n]] = psql(db.url, `SELECT count(*) FROM context_documents WHERE project_id = ${id}`);
      assert.equal(list.find((p) => p.id === id).documents_count, Number(n), `${what}: list, project ${id}`);
      assert.equal((await alice.get(`/api/projects/${id}`)).body.documents_count, Number(n), `${what}: route, project ${id}`);
    }
  };
  const doc = (pid, i) => `(${pid}, ${i}, 'https://shop.example/${i}', 'Page ${i}', 'Text ${i}')`;
  psql(db.url, `INSERT INTO context_documents (project_id, position, url, title, body_text)
    VALUES ${doc(projectId, 1)}, ${doc(projectId, 2)}, ${doc(projectId, 3)}, ${doc(otherId, 4)}`);
  await assertCounts('after inserts');
  psql(db.url, `UPDATE context_documents SET project_id = ${otherId} WHERE url = 'https://shop.example/1'`);
  psql(db.url, `UPDATE context_documents SET title = 'Renamed page' WHERE url = 'https://shop.example/2'`);
  await assertCounts('after a move and an edit');
  psql(db.url, `DELETE FROM context_documents WHERE url IN ('https://shop.example/2', 'https://shop.example/4')`);
  await assertCounts('after deletes');

  // The project's name on its conversations: as made, after a rename (the
  // API's PATCH), after a move to another project.
  const [[chatId]] = psql(db.url, `INSERT INTO conversations (user_id, project_id, title)
    VALUES (${uid}, ${otherId}, 'Names') RETURNING id`).map((r) => [Number(r[0])]);
  const chat = { body: { id: chatId } };
  const names = async () => {
    const c = await listed(chat.body.id);
    const [[name]] = psql(db.url, `SELECT p.name FROM conversations c JOIN projects p ON p.id = c.project_id WHERE c.id = ${chat.body.id}`);
    assert.equal((await alice.get(`/api/chats/${chat.body.id}`)).body.project_name, c.project_name);
    return [c.project_name, name];
  };
  assert.deepEqual(await names(), ['Second shop', 'Second shop']);
  assert.equal((await alice.request('PATCH', `/api/projects/${otherId}`, { name: 'Renamed shop' })).status, 200);
  assert.deepEqual(await names(), ['Renamed shop', 'Renamed shop']);
  psql(db.url, `UPDATE conversations SET project_id = ${projectId} WHERE id = ${chat.body.id}`);
  const [first] = await names();
  assert.equal(first, (await alice.get(`/api/projects/${projectId}`)).body.name);
  psql(db.url, `DELETE FROM projects WHERE id = ${otherId}`);
});
