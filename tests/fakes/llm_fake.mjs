// llm_fake.mjs — a fake chat-completions server speaking the protocol shared
// by Mistral's API and OpenAI-compatible servers (no npm deps).
//
// As a program:  node tests/fakes/llm_fake.mjs <port-file>
//   listens on 127.0.0.1 on a free port, writes the port number to
//   <port-file> (atomically via <port-file>.tmp + rename), stops on SIGTERM.
// As a module:   const fake = await startLlmFake(); fake.baseUrl ... await fake.close();
//
// POST /v1/chat/completions
//   request  {"model","messages":[{"role","content"}…],"response_format"?,
//             "temperature"?,"max_tokens"?}
//   response 200 {"id","object":"chat.completion","created","model",
//             "choices":[{"index":0,"message":{"role":"assistant","content"},
//             "finish_reason":"stop"}],"usage":{"prompt_tokens","completion_tokens",
//             "total_tokens"}}
//   errors   as the providers document them:
//             401 {"message":"Unauthorized","request_id":…}
//             422 {"object":"error","message":{"detail":[{"type","loc","msg","input"}]},
//                  "type":"invalid_request_error","param":null,"code":null}
//             400 {"error":{"message","type":"invalid_request_error","param","code"}}
//             429 {"message":"Requests rate limit exceeded"} + Retry-After
//             500 {"message":"Internal server error"}
//
// The scenario is chosen by the model name (or the X-Fake-Scenario header,
// which wins). "<scenario>-<key>" variants count hits per full model name.
//   fake-401             401                fake-422   422 (detail shape)
//   fake-400             400 (error.message shape)
//   fake-429             429, Retry-After: 1 (always)
//   fake-429once-<k>     first hit of <k> 429 Retry-After: 1, then normal
//   fake-500             500 (always)    fake-500once-<k>   first hit 500, then normal
//   fake-slow[-<ms>]     waits <ms> (default 3000), then normal
//   fake-hang            never answers (the connection stays open until the
//                        client gives up — its request then shows closed — or
//                        the fake closes)
//   fake-malformed       200, content is not JSON
//   fake-nochoices       200, "choices": []
//   fake-notjson         200 with an HTML body
//   fake-draft           200, content is a valid promo draft JSON object
//   fake-draft-slow[-<ms>]  waits <ms> (default 1500), then a valid draft
//   fake-draft-badonce-<k>  first hit of <k> an invalid draft ({"hook":""}), then a valid one
//   fake-draft-longcaption  a valid draft with a 600-character caption and 12 hashtags
//   fake-brief[-slow-<ms>]  200 (after <ms>, default 0), content is a valid brief JSON object
//   anything else        200, content echoes {"echo":true,"model","n_messages",
//                        "system","last_user","json_mode"}
//
// GET /requests          [{method,path,headers,body,closed}…] every request seen
//                        (body parsed); closed: the client closed the connection
//                        before the answer was sent (a cancelled call)
// DELETE /requests       forget them (and the hit counters)
import http from 'node:http';
import { listenLocal, runAsProgram } from './listen.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function validDraft(extra = {}) {
  return {
    hook: 'Weekend only: two jollof plates for the price of one',
    script: ['Open on the steaming pot', 'Show the two plates side by side', 'Happy customers, real reviews', 'Order before Sunday'],
    caption: 'Two plates, one price, this weekend only. Bring a friend and taste why our regulars keep coming back.',
    cta: 'Order on WhatsApp',
    caption_hint: 'Lead with the offer, end with the deadline',
    hashtags: ['#jollof', '#weekenddeal', '#lagosfood'],
    variants: {
      instagram: { caption: 'Two plates, one price. This weekend only.', cta: 'Tap to order', hashtags: ['#jollof', '#foodie'] },
      tiktok: { caption: 'POV: you found the best jollof deal', cta: 'Link in bio', hashtags: ['#jollof'], hook: 'Wait for the second plate' },
      whatsapp: { caption: 'Hi! 2 jollof plates for the price of 1 this weekend. Reply to order.', cta: 'Reply ORDER', hashtags: [] },
    },
    ...extra,
  };
}

function validBrief() {
  return {
    title: 'Weekend jollof for two', channel: 'instagram', tone: 'warm', duration_seconds: 20,
    style: 'bright food close-ups', cta: 'Order on WhatsApp', caption_hint: 'Lead with the offer',
    audience: 'Lagos office workers', offer: 'Two plates for the price of one', language_style: 'english',
  };
}

function completion(model, content, prompt) {
  return {
    id: 'cmpl-fake-' + Math.random().toString(16).slice(2, 10),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: Math.ceil(prompt.length / 4) + 1, completion_tokens: Math.ceil(content.length / 4) + 1, total_tokens: 0 },
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Create the fake (not listening). Returns { server, requests, hits }. */
export function createLlmFake() {
  const state = { requests: [], hits: new Map() };
  const server = http.createServer(async (req, res) => {
    const text = await readBody(req);
    const path = new URL(req.url, 'http://fake.invalid').pathname;
    if (path === '/requests') {
      if (req.method === 'DELETE') {
        state.requests.length = 0;
        state.hits.clear();
        return send(res, 200, { ok: true });
      }
      return send(res, 200, state.requests);
    }
    let body = null;
    try { body = JSON.parse(text); } catch { body = text; }
    const entry = { method: req.method, path, headers: req.headers, body, closed: false };
    state.requests.push(entry);
    res.on('close', () => { if (!res.writableFinished) entry.closed = true; });
    if (path !== '/v1/chat/completions' || req.method !== 'POST')
      return send(res, 404, { message: 'Not Found' });
    if (!body || typeof body !== 'object' || !Array.isArray(body.messages) || typeof body.model !== 'string')
      return send(res, 422, { object: 'error', message: { detail: [{ type: 'missing', loc: ['body', 'messages'], msg: 'Field required', input: null }] }, type: 'invalid_request_error', param: null, code: null });

    const model = body.model;
    const scenario = req.headers['x-fake-scenario'] || model;
    const hit = (state.hits.get(scenario) || 0) + 1;
    state.hits.set(scenario, hit);
    const prompt = body.messages.map((m) => m.content).join('\n');
    const ok = (content) => send(res, 200, completion(model, content, prompt));

    if (scenario === 'fake-401') return send(res, 401, { message: 'Unauthorized', request_id: 'req-fake-401' });
    if (scenario === 'fake-400')
      return send(res, 400, { error: { message: "Invalid model: 'fake-400'", type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    if (scenario === 'fake-422')
      return send(res, 422, { object: 'error', message: { detail: [{ type: 'less_than_equal', loc: ['body', 'temperature'], msg: 'Input should be less than or equal to 1.5', input: 9 }] }, type: 'invalid_request_error', param: null, code: null });
    if (scenario === 'fake-429') return send(res, 429, { message: 'Requests rate limit exceeded' }, { 'retry-after': '1' });
    if (scenario.startsWith('fake-429once-') && hit === 1)
      return send(res, 429, { message: 'Requests rate limit exceeded' }, { 'retry-after': '1' });
    if (scenario === 'fake-500') return send(res, 500, { message: 'Internal server error' });
    if (scenario.startsWith('fake-500once-') && hit === 1) return send(res, 500, { message: 'Internal server error' });
    if (scenario === 'fake-hang') return; // no answer, ever
    if (scenario.startsWith('fake-slow')) {
      const ms = Number(scenario.split('-')[2]) || 3000;
      await sleep(ms);
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (scenario === 'fake-malformed') return ok('Sure! Here is your promo: {"hook": "unterminated');
    if (scenario === 'fake-nochoices') return send(res, 200, { id: 'x', object: 'chat.completion', model, choices: [] });
    if (scenario === 'fake-notjson') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html><body>gateway says hello</body></html>');
    }
    if (scenario === 'fake-draft') return ok(JSON.stringify(validDraft()));
    if (scenario.startsWith('fake-brief')) {
      const ms = Number(scenario.split('-')[3]) || 0;
      if (ms) await sleep(ms);
      if (res.destroyed || req.socket.destroyed) return;
      return ok(JSON.stringify(validBrief()));
    }
    if (scenario.startsWith('fake-draft-slow')) {
      await sleep(Number(scenario.split('-')[3]) || 1500);
      if (res.destroyed || req.socket.destroyed) return;
      return ok(JSON.stringify(validDraft()));
    }
    if (scenario.startsWith('fake-draft-badonce-'))
      return ok(JSON.stringify(hit === 1 ? { hook: '', script: 'not an array' } : validDraft()));
    if (scenario === 'fake-draft-longcaption') {
      const words = [];
      while (words.join(' ').length < 600) words.push('delicious');
      const tags = Array.from({ length: 12 }, (_, i) => `#tag${i + 1}`);
      const d = validDraft({ caption: words.join(' '), hashtags: tags });
      d.variants.instagram.caption = words.join(' ');
      d.variants.instagram.hashtags = tags;
      d.variants.whatsapp.caption = words.join(' ') + ' #inline #tags';
      d.variants.whatsapp.hashtags = ['#nope'];
      return ok(JSON.stringify(d));
    }
    const system = body.messages.find((m) => m.role === 'system');
    const users = body.messages.filter((m) => m.role === 'user');
    return ok(JSON.stringify({
      echo: true,
      model,
      n_messages: body.messages.length,
      system: system ? system.content : null,
      last_user: users.length ? users[users.length - 1].content : null,
      json_mode: !!(body.response_format && body.response_format.type === 'json_object'),
    }));
  });
  return { server, ...state };
}

/** Start on 127.0.0.1 (free port). Returns { port, baseUrl, requests, close }. */
export async function startLlmFake() {
  const f = createLlmFake();
  return { ...(await listenLocal(f.server, '/v1')), requests: f.requests };
}

runAsProgram(import.meta, createLlmFake);
