// tts_fake.mjs — a fake OpenAI-compatible speech server (no npm deps).
//
// As a program:  node tests/fakes/tts_fake.mjs <port-file>
//   listens on 127.0.0.1 on a free port, writes the port number to
//   <port-file> (atomically via <port-file>.tmp + rename), stops on SIGTERM.
// As a module:   const fake = await startTtsFake(); fake.baseUrl ... await fake.close();
//
// POST /v1/audio/speech
//   request  {"model","input","voice","response_format"?:"wav"|"mp3"|...,"speed"?}
//   response 200 audio/wav: 24 kHz mono 16-bit PCM — 0.25 s of silence, then
//            one 0.3 s tone burst per word of the input with 0.05 s gaps, then
//            0.25 s of silence (so the client can find where speech starts/ends)
//   errors   as OpenAI documents them, {"error":{"message","type","param","code"}}:
//            400 missing input / voice, or a response_format other than wav/pcm
//            401 a key of "wrong" (Authorization: Bearer wrong)
//
// The scenario is chosen by the voice when it starts with "fake-", else by the
// model name (X-Fake-Scenario wins over both):
//   fake-401          401 invalid_api_key
//   fake-400          400 "Input is too long"
//   fake-429          429 with Retry-After: 1 (always)
//   fake-500          500 server_error (always)
//   fake-500once-<k>  first hit of <k> 500, then normal
//   fake-hang         never answers (until the client gives up)
//   fake-notaudio     200 text/html
//   anything else     200 with the audio above
//
// GET /requests     [{method,path,headers,body,closed}…]; DELETE /requests forgets them.
import http from 'node:http';
import { listenLocal, runAsProgram } from './listen.mjs';

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const err = (message, type, code = null, param = null) => ({ error: { message, type, param, code } });

/** A WAV of the input's words as tone bursts (see the header). */
export function speechWav(input) {
  const rate = 24000, words = String(input).trim().split(/\s+/).filter(Boolean).length || 1;
  const silence = Math.round(0.25 * rate), burst = Math.round(0.3 * rate), gap = Math.round(0.05 * rate);
  const n = silence * 2 + words * burst + (words - 1) * gap;
  const pcm = Buffer.alloc(n * 2);
  let i = silence;
  for (let w = 0; w < words; w++) {
    for (let k = 0; k < burst; k++, i++) {
      const env = Math.min(1, k / 240, (burst - k) / 240);
      pcm.writeInt16LE(Math.round(12000 * env * Math.sin((2 * Math.PI * (180 + 40 * (w % 3)) * k) / rate)), i * 2);
    }
    i += gap;
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + pcm.length, 4); h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36);
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

/** Create the fake (not listening). Returns { server, requests, hits }. */
export function createTtsFake() {
  const requests = [];
  const hits = new Map();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      if (req.url === '/requests') {
        if (req.method === 'DELETE') { requests.length = 0; hits.clear(); return send(res, 204, ''); }
        return send(res, 200, requests);
      }
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
      const rec = { method: req.method, path: req.url, headers: req.headers, body, closed: false };
      requests.push(rec);
      res.on('close', () => { if (!res.writableEnded) rec.closed = true; });
      if (req.method !== 'POST' || req.url !== '/v1/audio/speech')
        return send(res, 404, err(`Invalid URL (${req.method} ${req.url})`, 'invalid_request_error'));
      if ((req.headers.authorization || '') === 'Bearer wrong')
        return send(res, 401, err('Incorrect API key provided: wrong.', 'invalid_request_error', 'invalid_api_key'));
      const voice = body && typeof body.voice === 'string' && body.voice.startsWith('fake-') ? body.voice : '';
      const model = String(req.headers['x-fake-scenario'] || voice || (body && body.model) || '');
      const once = /^fake-(\w+)once-(.+)$/.exec(model);
      let scenario = model;
      if (once) {
        const n = (hits.get(model) || 0) + 1;
        hits.set(model, n);
        scenario = n === 1 ? `fake-${once[1]}` : 'ok';
      }
      switch (scenario) {
        case 'fake-401': return send(res, 401, err('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
        case 'fake-400': return send(res, 400, err('Input is too long: at most 4096 characters.', 'invalid_request_error', null, 'input'));
        case 'fake-429': return send(res, 429, err('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), { 'retry-after': '1' });
        case 'fake-500': return send(res, 500, err('The server had an error while processing your request. Sorry about that!', 'server_error'));
        case 'fake-hang': return; // never answers
        case 'fake-notaudio': {
          const html = '<html><body>Service maintenance</body></html>';
          res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
          return res.end(html);
        }
        default: break;
      }
      if (!body || typeof body.input !== 'string' || !body.input.trim())
        return send(res, 400, err("'input' is a required property", 'invalid_request_error', null, 'input'));
      if (typeof body.voice !== 'string' || !body.voice)
        return send(res, 400, err("'voice' is a required property", 'invalid_request_error', null, 'voice'));
      if (body.response_format && !['wav', 'pcm'].includes(body.response_format))
        return send(res, 400, err(`This fake only speaks wav and pcm, not ${body.response_format}`, 'invalid_request_error', null, 'response_format'));
      const wav = speechWav(body.input);
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': wav.length });
      res.end(wav);
    });
  });
  return { server, requests, hits };
}

/** Start on 127.0.0.1 (free port). Returns { port, baseUrl, requests, close }. */
export async function startTtsFake() {
  const f = createTtsFake();
  return { ...(await listenLocal(f.server, '/v1')), requests: f.requests };
}

runAsProgram(import.meta, createTtsFake);
