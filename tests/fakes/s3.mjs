// s3.mjs — a local S3-compatible object store for tests: s3rver (npm) behind
// a front that checks AWS Signature Version 4 the way S3 does.
//
// s3rver speaks the S3 REST protocol (PUT/GET/HEAD/DELETE objects, Range
// reads, multipart uploads, XML error bodies) but only looks up the access
// key of a V4 signature; it never recomputes it. The front recomputes every
// signature — Authorization header and presigned query (X-Amz-*) alike —
// with the configured key pair and answers like S3 when it does not match
// (403 SignatureDoesNotMatch / InvalidAccessKeyId / AccessDenied "Request has
// expired"), so the storage_s3 plugin's signing is checked end to end.
// Unsigned requests are refused (a private bucket).
//
// As a module:
//   const s3 = await startFakeS3({ accessKey, secretKey, region, bucket });
//   s3.endpoint     'http://127.0.0.1:<port>'
//   s3.env          { STORAGE: 's3', STORAGE_S3_ENDPOINT, _REGION, _BUCKET,
//                     _ACCESS_KEY, _SECRET_KEY, _PATH_STYLE: 'true' } for a cliploop process
//   s3.requests     [{ method, path, query, status, auth: 'header'|'query'|'none' }]
//   s3.mode         'normal' | 'hang' (accept, never answer) | 'error500' (InternalError)
//   s3.objectBytes(key) -> Buffer | null   (read through the fake's own store)
//   s3.objectKeys() -> [key, ...]
//   await s3.close()
// As a program: node tests/fakes/s3.mjs <port-file> [accessKey] [secretKey] [bucket] [region]
//   writes the port to <port-file> (written to .tmp, then renamed); stops on SIGTERM/SIGINT.
//   Several hosts and workers can share one instance (tests/api topology).
import S3rver from 's3rver';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// s3rver's account registry (the same module instance s3rver uses).
const AWSAccount = createRequire(import.meta.url)('s3rver/lib/models/account.js');

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, '/' optionally. */
export function sigv4Encode(s, keepSlash = false) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function s3Error(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${crypto.randomBytes(8).toString('hex')}</RequestId></Error>`;
}

/**
 * Check one request's SigV4 signature. Returns null when valid, else
 * { status, code, message } as S3 would answer.
 */
export function verifySigV4(req, { accessKey, secretKey, region, now = Date.now() }) {
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const pairs = rawQuery === '' ? [] : rawQuery.split('&').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
  });
  const q = Object.fromEntries(pairs);
  let credential, signedHeaders, signature, amzDate, payloadHash, expires;
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed.' };
    [, credential, signedHeaders, signature] = m;
    amzDate = req.headers['x-amz-date'];
    payloadHash = req.headers['x-amz-content-sha256'];
    if (!payloadHash) return { status: 400, code: 'InvalidRequest', message: 'Missing required header for this request: x-amz-content-sha256' };
  } else if (q['X-Amz-Algorithm']) {
    if (q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') return { status: 400, code: 'AuthorizationQueryParametersError', message: 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"' };
    credential = q['X-Amz-Credential'];
    signedHeaders = q['X-Amz-SignedHeaders'];
    signature = q['X-Amz-Signature'];
    amzDate = q['X-Amz-Date'];
    expires = Number(q['X-Amz-Expires']);
    payloadHash = 'UNSIGNED-PAYLOAD';
    if (!credential || !signedHeaders || !signature || !amzDate || !(expires > 0 && expires <= 604800))
      return { status: 400, code: 'AuthorizationQueryParametersError', message: 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.' };
  } else {
    return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
  }
  const [keyId, date, credRegion, service, term] = credential.split('/');
  if (keyId !== accessKey) return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  if (credRegion !== region || service !== 's3' || term !== 'aws4_request' || !amzDate || amzDate.slice(0, 8) !== date)
    return { status: 400, code: 'AuthorizationHeaderMalformed', message: `The authorization header is malformed; the region '${credRegion}' is wrong; expecting '${region}'` };
  const t = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (!Number.isFinite(t)) return { status: 403, code: 'AccessDenied', message: 'X-Amz-Date is not a valid date' };
  if (expires !== undefined) {
    if (now > t + expires * 1000) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
  } else if (Math.abs(now - t) > 15 * 60 * 1000) {
    return { status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  }
  const canonicalUri = rawPath.split('/').map((seg) => sigv4Encode(decode(seg))).join('/');
  const canonicalQuery = pairs
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [sigv4Encode(k), sigv4Encode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return { status: 403, code: 'AccessDenied', message: 'The host header must be signed' };
  let canonicalHeaders = '';
  for (const h of names) {
    const v = req.headers[h];
    if (v === undefined) return { status: 403, code: 'SignatureDoesNotMatch', message: `The signed header ${h} is missing` };
    canonicalHeaders += `${h}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
  }
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secretKey, date), region), 's3'), 'aws4_request');
  const expected = hmac(key, stringToSign).toString('hex');
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature.padEnd(64, '0').slice(0, 64))))
    return { status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', canonicalRequest };
  return null;
}

export async function startFakeS3({
  accessKey = 'CLIPLOOPTESTKEY',
  secretKey = 'cliploop-test-secret/with+chars',
  region = 'us-east-1',
  bucket = 'cliploop-test',
  port = 0,
} = {}) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cliploop-s3-'));
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const fake = {
    requests: [],
    mode: 'normal',
    hung: new Set(),
    bucket, region, accessKey, secretKey, directory,
  };
  // Runs before s3rver's own middleware (Koa composes at listen time).
  server.middleware.unshift(async (ctx, next) => {
    const entry = { method: ctx.method, path: ctx.path, query: ctx.querystring, status: 0, auth: ctx.get('authorization') ? 'header' : ctx.query['X-Amz-Algorithm'] ? 'query' : 'none' };
    fake.requests.push(entry);
    if (fake.mode === 'hang') {
      fake.hung.add(ctx.req.socket);
      await new Promise(() => {}); // never answers; close() destroys the socket
    }
    if (fake.mode === 'error500') {
      s3Error(ctx, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      entry.status = 500;
      return;
    }
    const bad = verifySigV4(ctx.req, { accessKey, secretKey, region });
    if (bad) {
      s3Error(ctx, bad.status, bad.code, bad.message);
      entry.status = bad.status;
      entry.error = bad.code;
      return;
    }
    // Valid: s3rver's own V4 check only looks the key id up (registered below).
    await next();
    entry.status = ctx.status;
  });
  const addr = await server.run();
  fake.port = addr.port;
  fake.endpoint = `http://127.0.0.1:${addr.port}`;
  fake.env = {
    STORAGE: 's3',
    STORAGE_S3_ENDPOINT: fake.endpoint,
    STORAGE_S3_REGION: region,
    STORAGE_S3_BUCKET: bucket,
    STORAGE_S3_ACCESS_KEY: accessKey,
    STORAGE_S3_SECRET_KEY: secretKey,
    STORAGE_S3_PATH_STYLE: 'true',
  };
  fake.objectKeys = () => {
    const out = [];
    const root = path.join(directory, bucket);
    const walk = (d) => {
      for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('._S3rver_object')) out.push(path.relative(root, p).slice(0, -'._S3rver_object'.length));
      }
    };
    walk(root);
    return out.sort();
  };
  fake.objectBytes = (key) => {
    const p = path.join(directory, bucket, `${key}._S3rver_object`);
    return fs.existsSync(p) ? fs.readFileSync(p) : null;
  };
  fake.close = async () => {
    for (const s of fake.hung) s.destroy();
    server.httpServer?.closeAllConnections?.();
    await server.close().catch(() => {});
    fs.rmSync(directory, { recursive: true, force: true });
  };
  return fake;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [portFile, accessKey, secretKey, bucket, region] = process.argv.slice(2);
  if (!portFile) {
    console.error('usage: node tests/fakes/s3.mjs <port-file> [accessKey] [secretKey] [bucket] [region]');
    process.exit(2);
  }
  const opts = {};
  if (accessKey) opts.accessKey = accessKey;
  if (secretKey) opts.secretKey = secretKey;
  if (bucket) opts.bucket = bucket;
  if (region) opts.region = region;
  const fake = await startFakeS3(opts);
  fs.writeFileSync(portFile + '.tmp', String(fake.port));
  fs.renameSync(portFile + '.tmp', portFile);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
