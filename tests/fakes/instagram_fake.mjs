// instagram_fake.mjs — a local fake of the Instagram API with Instagram Login
// (api.instagram.com + graph.instagram.com) for the publishing tests. It
// speaks the documented protocol: the OAuth authorize redirect and code
// exchange, the long-lived token exchange and refresh, /me, Reel containers
// (create, status, publish), permalinks, content_publishing_limit, and the
// error bodies Instagram sends ({"error":{"message","type","code",
// "error_subcode","fbtrace_id"}}). Like the real service it downloads the
// container's video_url itself, so the host's public media URLs are
// exercised end to end.
//
// It counts media_publish calls per container, so tests can assert that an
// item was published exactly once on the platform's side.
//
// As a module:
//   const ig = await startInstagramFake({ clientId, clientSecret });
//   ig.url                      base URL (use for INSTAGRAM_API_URL, _GRAPH_URL, _AUTH_URL + '/oauth/authorize')
//   ig.failNext(op, {status, body, headers, times})   inject errors: op is one of
//        code_exchange, long_lived, refresh, me, quota, create, status, publish, permalink, insights
//   ig.holdNext(op)             the next `op` request is processed (side effect done)
//                               but its answer is held back; returns a promise that
//                               resolves when the request arrived (for SIGKILL tests)
//   ig.hangNext(op, times = 1)  the next `op` requests are never answered and
//                               nothing is done (a hung platform); the connection
//                               stays open until the client gives up
//   ig.state                    { containers: Map, media: Map, tokens: Map, publishes: n, ... };
//                               state.expiresIn overrides the long-lived tokens' expires_in
//   ig.publishCount(containerId), ig.totalPublishes()
//   ig.revokeAll()              every token becomes invalid (code 190)
//   ig.options                  { processingPolls, quotaTotal, containerOutcome, expireContainers, denyAuthorize, fetchVideo, delayMs }
//   await ig.close()
// As a program: node tests/fakes/instagram_fake.mjs <port-file> [clientId] [clientSecret]
//   writes the port to <port-file>; POST /_control {options…} changes options;
//   GET /_stats reports containers and publish counts.
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const LONG_LIVED_SECONDS = 5183944; // about 60 days, as Instagram answers

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function graphError(message, { code = 100, subcode, type = 'OAuthException', status = 400 } = {}) {
  const error = { message, type, code, fbtrace_id: 'A' + crypto.randomBytes(8).toString('hex') };
  if (subcode) error.error_subcode = subcode;
  return { status, body: { error } };
}

const ERRORS = {
  invalid_token: () => graphError('Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.', { code: 190, subcode: 460 }),
  rate_limit: () => ({ ...graphError('Application request limit reached', { code: 4 }), headers: { 'x-app-usage': '{"call_count":100,"total_cputime":30,"total_time":40}' } }),
  server: () => graphError('An unexpected error has occurred. Please retry your request later.', { code: 2, status: 500 }),
  not_ready: () => graphError('Media ID is not available', { code: 9007, subcode: 2207027 }),
  carousel: () => graphError('The video is a carousel item, not a standalone post. Use media_type REELS.', { code: 100, subcode: 2207089 }),
  quota: () => graphError('The account has reached its publishing limit for the last 24 hours', { code: 9, subcode: 2207042, status: 400 }),
};
export { ERRORS };

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

export function createInstagramFake({ clientId = 'fake-client-id', clientSecret = 'fake-client-secret' } = {}) {
  const state = {
    codes: new Map(),      // code -> { redirect_uri, used }
    tokens: new Map(),     // token -> { kind: 'short'|'long', userId, valid, issued }
    containers: new Map(), // id -> { userId, status, polls, videoUrl, caption, fetched, publishes, mediaId, shareToFeed }
    media: new Map(),      // id -> { container, permalink }
    requests: [],          // { op, method, path }
    quotaUsage: 0,
  };
  const options = { processingPolls: 1, quotaTotal: 50, containerOutcome: null, expireContainers: false, denyAuthorize: false, fetchVideo: true, delayMs: 0 };
  const failures = [];   // { op, status, body, headers, times }
  const holds = [];      // { op, arrived: resolve }
  const hangs = [];      // { op, times }: never answered
  const account = { userId: '17841400000000001', username: 'mamaputkitchen', appScopedId: '9876543210' };
  let nextId = 18000000000000000n;
  const newId = () => String(++nextId);

  function take(op) {
    const i = failures.findIndex((f) => f.op === op);
    if (i < 0) return null;
    const f = failures[i];
    if (--f.times <= 0) failures.splice(i, 1);
    return f;
  }

  function tokenOf(req, q, form) {
    const h = req.headers.authorization || '';
    const m = /^(?:Bearer|OAuth)\s+(.+)$/.exec(h);
    return m ? m[1] : (q.get('access_token') || (form && form.get('access_token')) || null);
  }

  function authed(req, q, form) {
    const t = tokenOf(req, q, form);
    const rec = t && state.tokens.get(t);
    if (!rec || !rec.valid) return null;
    return rec;
  }

  async function fetchVideo(c) {
    try {
      const r = await fetch(c.videoUrl);
      const buf = Buffer.from(await r.arrayBuffer());
      c.fetchStatus = r.status;
      c.fetchedBytes = buf.length;
      c.fetchedType = r.headers.get('content-type');
      c.fetchedSha256 = crypto.createHash('sha256').update(buf).digest('hex');
      c.fetched = r.ok && buf.length > 0;
    } catch (e) {
      c.fetchStatus = 0;
      c.fetched = false;
    }
    c.fetchDone = true;
  }

  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://fake.invalid');
    const q = u.searchParams;
    const raw = await readBody(req);
    // A slower platform (tests widen the windows a killed worker can fall into).
    if (options.delayMs > 0) await new Promise((r) => setTimeout(r, options.delayMs));
    const form = req.headers['content-type']?.includes('application/x-www-form-urlencoded') ? new URLSearchParams(raw) : null;
    const param = (k) => q.get(k) ?? (form ? form.get(k) : null);
    // Graph calls may carry a version prefix: /v21.0/...
    const p = u.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const parts = p.split('/').filter(Boolean);
    let op = 'other';
    if (p === '/oauth/authorize') op = 'authorize';
    else if (p === '/oauth/access_token') op = 'code_exchange';
    else if (p === '/access_token') op = 'long_lived';
    else if (p === '/refresh_access_token') op = 'refresh';
    else if (p === '/me') op = 'me';
    else if (parts.length === 2 && parts[1] === 'content_publishing_limit') op = 'quota';
    else if (parts.length === 2 && parts[1] === 'media' && req.method === 'POST') op = 'create';
    else if (parts.length === 2 && parts[1] === 'media_publish') op = 'publish';
    else if (parts.length === 1 && state.containers.has(parts[0])) op = 'status';
    else if (parts.length === 1 && state.media.has(parts[0])) op = 'permalink';
    else if (parts.length === 2 && parts[1] === 'insights' && state.media.has(parts[0]) && req.method === 'GET') op = 'insights';
    else if (p.startsWith('/_')) op = p.slice(2);
    state.requests.push({ op, method: req.method, path: p });

    // Hung: no work, no answer.
    const hangIdx = hangs.findIndex((h) => h.op === op);
    if (hangIdx >= 0) {
      if (--hangs[hangIdx].times <= 0) hangs.splice(hangIdx, 1);
      return;
    }
    // Held answers: do the work, then keep the client waiting (it gets killed).
    const holdIdx = holds.findIndex((h) => h.op === op);
    let hold = null;
    if (holdIdx >= 0) { hold = holds[holdIdx]; holds.splice(holdIdx, 1); }
    const reply = (status, body, headers) => {
      if (hold) {
        hold.arrived({ op, status, body });
        setTimeout(() => { try { send(res, status, body, headers); } catch { /* client gone */ } }, 60000).unref();
        return;
      }
      send(res, status, body, headers);
    };
    const fail = take(op);
    if (fail) {
      const e = typeof fail.error === 'string' ? ERRORS[fail.error]() : fail;
      return reply(e.status, e.body, e.headers || {});
    }

    switch (op) {
      case 'authorize': {
        const redirect = q.get('redirect_uri');
        if (q.get('client_id') !== clientId || !redirect) return send(res, 400, { error_type: 'OAuthException', code: 400, error_message: 'Invalid platform app' });
        const to = new URL(redirect);
        if (options.denyAuthorize) {
          to.searchParams.set('error', 'access_denied');
          to.searchParams.set('error_reason', 'user_denied');
          to.searchParams.set('error_description', 'The user denied your request.');
        } else {
          const code = 'AQ' + crypto.randomBytes(24).toString('hex');
          state.codes.set(code, { redirect_uri: redirect, used: false, scope: q.get('scope') });
          to.searchParams.set('code', code);
        }
        if (q.get('state') !== null) to.searchParams.set('state', q.get('state'));
        res.writeHead(302, { location: to.toString() + '#_' });
        return res.end();
      }
      case 'code_exchange': {
        const code = (param('code') || '').replace(/#_$/, '');
        const rec = state.codes.get(code);
        if (param('client_id') !== clientId || param('client_secret') !== clientSecret)
          return reply(400, { error_type: 'OAuthException', code: 400, error_message: 'Invalid client_secret' });
        if (!rec || rec.used || rec.redirect_uri !== param('redirect_uri') || param('grant_type') !== 'authorization_code')
          return reply(400, { error_type: 'OAuthException', code: 400, error_message: 'This authorization code has been used' });
        rec.used = true;
        const token = 'IGQWshort' + crypto.randomBytes(16).toString('hex');
        state.tokens.set(token, { kind: 'short', userId: account.userId, valid: true, issued: Date.now() });
        return reply(200, { data: [{ access_token: token, user_id: account.userId, permissions: 'instagram_business_basic,instagram_business_content_publish' }] });
      }
      case 'long_lived': {
        const t = q.get('access_token');
        const rec = t && state.tokens.get(t);
        if (q.get('grant_type') !== 'ig_exchange_token' || q.get('client_secret') !== clientSecret)
          return reply(400, graphError('Invalid OAuth access token - Cannot parse access token', { code: 190 }).body);
        if (!rec || !rec.valid || rec.kind !== 'short') { const e = ERRORS.invalid_token(); return reply(e.status, e.body); }
        const token = 'IGAAlong' + crypto.randomBytes(24).toString('hex');
        state.tokens.set(token, { kind: 'long', userId: rec.userId, valid: true, issued: Date.now() });
        return reply(200, { access_token: token, token_type: 'bearer', expires_in: state.expiresIn ?? LONG_LIVED_SECONDS });
      }
      case 'refresh': {
        const t = q.get('access_token');
        const rec = t && state.tokens.get(t);
        if (q.get('grant_type') !== 'ig_refresh_token' || !rec || !rec.valid || rec.kind !== 'long') {
          const e = ERRORS.invalid_token();
          return reply(e.status, e.body);
        }
        const token = 'IGAAlong' + crypto.randomBytes(24).toString('hex');
        state.tokens.set(token, { kind: 'long', userId: rec.userId, valid: true, issued: Date.now(), refreshedFrom: t });
        return reply(200, { access_token: token, token_type: 'bearer', expires_in: state.expiresIn ?? LONG_LIVED_SECONDS });
      }
      default: break;
    }

    if (op === 'stats') {
      return send(res, 200, {
        containers: Object.fromEntries([...state.containers].map(([id, c]) => [id, { ...c }])),
        publishes: totalPublishes(), quotaUsage: state.quotaUsage, requests: state.requests.length,
      });
    }
    if (op === 'control') {
      Object.assign(options, JSON.parse(raw || '{}'));
      return send(res, 200, { options });
    }

    // Everything below is the Graph API: it needs a valid token.
    const who = authed(req, q, form);
    if (!who) {
      const e = ERRORS.invalid_token();
      return reply(e.status, e.body);
    }
    switch (op) {
      case 'me':
        return reply(200, { user_id: account.userId, username: account.username, id: account.appScopedId });
      case 'quota':
        if (parts[0] !== who.userId) return reply(400, graphError('Unsupported get request.', { code: 100, subcode: 33 }).body);
        return reply(200, { data: [{ quota_usage: state.quotaUsage, config: { quota_total: options.quotaTotal, quota_duration: 86400 } }] });
      case 'create': {
        if (parts[0] !== who.userId) return reply(400, graphError('Unsupported post request.', { code: 100, subcode: 33 }).body);
        const type = param('media_type');
        if (type === 'VIDEO') { const e = ERRORS.carousel(); return reply(e.status, e.body); }
        if (type !== 'REELS') return reply(400, graphError('The parameter media_type is required', { code: 100 }).body);
        const videoUrl = param('video_url');
        if (!videoUrl) return reply(400, graphError('The parameter video_url is required', { code: 100 }).body);
        const caption = param('caption') || '';
        if ([...caption].length > 2200) return reply(400, graphError('The caption is too long', { code: 100, subcode: 2207024 }).body);
        if ((caption.match(/#\w+/g) || []).length > 30) return reply(400, graphError('Too many hashtags', { code: 100, subcode: 2207024 }).body);
        const id = newId();
        const c = { id, userId: who.userId, status: 'IN_PROGRESS', polls: 0, videoUrl, caption, shareToFeed: param('share_to_feed'),
          coverUrl: param('cover_url'), fetched: false, fetchDone: false, publishes: 0, publishAttempts: 0, mediaId: null, createdAt: Date.now() };
        state.containers.set(id, c);
        if (options.fetchVideo) fetchVideo(c); else { c.fetched = true; c.fetchDone = true; }
        return reply(200, { id });
      }
      case 'status': {
        const c = state.containers.get(parts[0]);
        c.polls++;
        if (c.status === 'IN_PROGRESS' && c.fetchDone && c.polls > options.processingPolls) {
          if (!c.fetched) { c.status = 'ERROR'; c.statusText = 'Error: Media download has failed. The media URI doesn\'t meet our requirements. (2207052)'; }
          else if (options.containerOutcome) { c.status = 'ERROR'; c.statusText = `Error: Media upload has failed with error code ${options.containerOutcome}`; }
          else if (options.expireContainers) c.status = 'EXPIRED';
          else c.status = 'FINISHED';
        }
        const out = { status_code: c.status, id: c.id };
        if (c.status === 'ERROR') out.status = c.statusText;
        else out.status = c.status === 'IN_PROGRESS' ? 'In Progress' : c.status === 'FINISHED' ? 'Finished: Media has been uploaded and it is ready to be published.' : 'Published';
        return reply(200, out);
      }
      case 'publish': {
        if (parts[0] !== who.userId) return reply(400, graphError('Unsupported post request.', { code: 100, subcode: 33 }).body);
        const c = state.containers.get(param('creation_id') || '');
        if (!c) return reply(400, graphError('Invalid parameter', { code: 100, subcode: 2207006 }).body);
        c.publishAttempts++;
        if (c.status === 'PUBLISHED') {
          // A second media_publish of the same container: counted, refused.
          c.publishes++;
          return reply(400, graphError('The media has already been published', { code: 9004, subcode: 2207008 }).body);
        }
        if (c.status !== 'FINISHED') { const e = ERRORS.not_ready(); return reply(e.status, e.body); }
        if (state.quotaUsage >= options.quotaTotal) { const e = ERRORS.quota(); return reply(e.status, e.body); }
        c.publishes++;
        c.status = 'PUBLISHED';
        c.mediaId = newId();
        state.quotaUsage++;
        state.media.set(c.mediaId, { container: c.id, permalink: `https://www.instagram.com/reel/C${crypto.randomBytes(5).toString('hex')}/` });
        return reply(200, { id: c.mediaId });
      }
      case 'permalink': {
        const m = state.media.get(parts[0]);
        return reply(200, { permalink: m.permalink, id: parts[0] });
      }
      case 'insights': {
        // Lifetime views and reach of a Reel (tests set media.views / media.reach; 0 until then).
        const m = state.media.get(parts[0]);
        const metrics = (u.searchParams.get('metric') || '').split(',').filter((x) => x === 'views' || x === 'reach');
        if (!metrics.length) return reply(400, graphError('(#100) metric must be one of the following values: views, reach', { code: 100 }).body);
        return reply(200, { data: metrics.map((name) => ({ name, period: 'lifetime', title: name[0].toUpperCase() + name.slice(1),
          values: [{ value: Number(m[name] ?? 0) }], id: `${parts[0]}/insights/${name}/lifetime` })) });
      }
      default:
        return reply(400, graphError(`Unsupported ${req.method.toLowerCase()} request. Object with ID '${parts[0] || ''}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { code: 100, subcode: 33 }).body);
    }
  });

  function totalPublishes() {
    let n = 0;
    for (const c of state.containers.values()) n += c.publishes;
    return n;
  }

  return {
    server, state, options, account, clientId, clientSecret,
    failNext(op, spec = {}) { failures.push({ op, times: spec.times || 1, ...spec }); },
    holdNext(op) { return new Promise((resolve) => holds.push({ op, arrived: resolve })); },
    hangNext(op, times = 1) { hangs.push({ op, times }); },
    publishCount(id) { return state.containers.get(id)?.publishes ?? 0; },
    totalPublishes,
    revokeAll() { for (const t of state.tokens.values()) t.valid = false; },
    reset() { failures.length = 0; holds.length = 0; hangs.length = 0; },
  };
}

export async function startInstagramFake(opts = {}) {
  const fake = createInstagramFake(opts);
  await new Promise((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.port = fake.server.address().port;
  fake.url = `http://127.0.0.1:${fake.port}`;
  fake.close = () => new Promise((resolve) => { fake.server.closeAllConnections?.(); fake.server.close(() => resolve()); });
  return fake;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [portFile, clientId, clientSecret] = process.argv.slice(2);
  const fake = await startInstagramFake({ clientId, clientSecret });
  if (portFile) { fs.writeFileSync(portFile + '.tmp', String(fake.port)); fs.renameSync(portFile + '.tmp', portFile); }
  else console.log(fake.url);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
