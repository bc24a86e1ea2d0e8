// lemonsqueezy_fake.mjs — a fake Lemon Squeezy API (no npm deps) speaking the
// documented JSON:API protocol, plus signed webhook fixtures.
//
// As a module:
//   const fake = await startLemonSqueezyFake({ apiKey, storeId, variantId });
//   fake.baseUrl, fake.requests, fake.subscriptions (Map id -> attributes),
//   fake.failNext(status, times = 1), fake.delayNext(ms), fake.hangNext(times = 1)
//   (the next API requests are never answered), await fake.close()
//
// As a program (browser tests, manual runs):
//   node tests/fakes/lemonsqueezy_fake.mjs <port-file>
//   with LS_FAKE_API_KEY / LS_FAKE_STORE_ID / LS_FAKE_VARIANT_ID.
//
// Routes (Accept/Content-Type application/vnd.api+json, Authorization: Bearer <key>):
//   POST /v1/checkouts            201 {"data":{"type":"checkouts","id","attributes":{"url",…}}}
//                                 401 bad key, 422 missing/unknown store or variant (JSON:API errors)
//   GET  /v1/subscriptions/:id    200 {"data":{"type":"subscriptions","id","attributes":{…}}}, 404 unknown
//   GET  /checkout/buy/:id        an HTML page standing for the hosted checkout
//   GET  /billing-portal          an HTML page standing for the customer portal
//   GET  /requests                every API request seen [{method,path,headers,body}]
// Errors use the JSON:API shape {"errors":[{"status","title","detail"}]}.
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

function send(res, status, body, type = 'application/vnd.api+json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const apiError = (status, title, detail) => ({ errors: [{ status: String(status), title, detail }] });

export async function startLemonSqueezyFake({ apiKey = 'test_key', storeId = '4242', variantId = '777' } = {}) {
  const fake = { requests: [], subscriptions: new Map(), checkouts: new Map(), failures: [], delays: [] };
  fake.failNext = (status, times = 1) => { for (let i = 0; i < times; i++) fake.failures.push(status); };
  // The next API request waits ms before it is answered (a slow or hung provider).
  fake.delayNext = (ms) => { fake.delays.push(ms); };
  // The next API requests are never answered (a hung provider): the
  // connection stays open until the client gives up or the fake closes.
  fake.hangs = 0;
  fake.hangNext = (times = 1) => { fake.hangs += times; };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/requests') return send(res, 200, fake.requests, 'application/json');
      const m = /^\/checkout\/buy\/([\w-]+)$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const co = fake.checkouts.get(m[1]);
        if (!co) return send(res, 404, '<!doctype html><title>Not found</title><h1>No such checkout</h1>', 'text/html');
        return send(res, 200, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout — fake Lemon Squeezy</title></head>
<body><h1>Fake Lemon Squeezy checkout</h1><p id="variant">Variant ${co.variant}</p><p id="email">${co.email || ''}</p>
<p id="user">${co.custom.user_id || ''}</p><a id="redirect" href="${co.redirect}">Back to the shop</a></body></html>`, 'text/html');
      }
      if (url.pathname === '/favicon.ico') { res.writeHead(204); return res.end(); } // browsers ask for it
      if (url.pathname === '/billing-portal' && req.method === 'GET') {
        return send(res, 200, '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Billing — fake Lemon Squeezy</title></head><body><h1>Fake customer portal</h1></body></html>', 'text/html');
      }
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
      fake.requests.push({ method: req.method, path: url.pathname, headers: req.headers, body });
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return send(res, 401, apiError(401, 'Unauthenticated', 'Unauthenticated.'));
      }
      if (!String(req.headers.accept || '').includes('application/vnd.api+json')) {
        return send(res, 406, apiError(406, 'Not Acceptable', 'Accept must be application/vnd.api+json'));
      }
      if (fake.hangs > 0) { fake.hangs--; return; }
      if (fake.delays.length) await new Promise((r) => setTimeout(r, fake.delays.shift()));
      if (res.destroyed) return;
      if (fake.failures.length) {
        const st = fake.failures.shift();
        return send(res, st, apiError(st, 'Server Error', 'The fake failed on purpose'));
      }
      if (req.method === 'POST' && url.pathname === '/v1/checkouts') {
        const d = body && body.data;
        if (!d || d.type !== 'checkouts') return send(res, 422, apiError(422, 'Unprocessable Entity', 'data.type must be checkouts'));
        const store = d.relationships?.store?.data, variant = d.relationships?.variant?.data;
        if (!store || store.type !== 'stores' || String(store.id) !== storeId) {
          return send(res, 422, apiError(422, 'Unprocessable Entity', 'The store field is invalid.'));
        }
        if (!variant || variant.type !== 'variants' || String(variant.id) !== variantId) {
          return send(res, 422, apiError(422, 'Unprocessable Entity', 'The variant field is invalid.'));
        }
        const id = crypto.randomUUID();
        const cd = d.attributes?.checkout_data || {};
        const redirect = d.attributes?.product_options?.redirect_url || '';
        fake.checkouts.set(id, { variant: variant.id, email: cd.email, custom: cd.custom || {}, redirect });
        const host = req.headers.host;
        return send(res, 201, {
          jsonapi: { version: '1.0' },
          data: {
            type: 'checkouts', id,
            attributes: {
              store_id: Number(storeId), variant_id: Number(variantId), custom_price: null,
              checkout_data: cd, product_options: d.attributes?.product_options || {},
              url: `http://${host}/checkout/buy/${id}?signature=fake`,
              created_at: new Date().toISOString(), updated_at: new Date().toISOString(), test_mode: true,
            },
          },
        });
      }
      const sm = /^\/v1\/subscriptions\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && sm) {
        const attrs = fake.subscriptions.get(sm[1]);
        if (!attrs) return send(res, 404, apiError(404, 'Not Found', 'The subscription was not found.'));
        return send(res, 200, { jsonapi: { version: '1.0' }, data: { type: 'subscriptions', id: sm[1], attributes: attrs } });
      }
      return send(res, 404, apiError(404, 'Not Found', `No route ${req.method} ${url.pathname}`));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.port = server.address().port;
  fake.baseUrl = `http://127.0.0.1:${fake.port}`;
  fake.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
  return fake;
}

// ---- webhook fixtures --------------------------------------------------------------

/** hex HMAC-SHA256 of body (a string or Buffer) with secret: the X-Signature header. */
export const sign = (body, secret) => crypto.createHmac('sha256', secret).update(body).digest('hex');

/** Subscription attributes as Lemon Squeezy documents them. */
export function subscriptionAttributes({ status = 'active', variantId = 777, userEmail = 'buyer@example.com',
  renewsAt = null, endsAt = null, trialEndsAt = null, updatedAt, cancelled = false, portal = 'portal-1' } = {}) {
  const later = new Date(Date.now() + 30 * 86400e3).toISOString();
  return {
    store_id: 4242, customer_id: 9001, order_id: 5001, order_item_id: 6001, product_id: 3001,
    variant_id: variantId, product_name: 'ClipLoop', variant_name: 'Starter', user_name: 'Buyer', user_email: userEmail,
    status, status_formatted: status, card_brand: 'visa', card_last_four: '4242', pause: null, cancelled,
    trial_ends_at: trialEndsAt, billing_anchor: 6, first_subscription_item: null,
    urls: {
      update_payment_method: `https://shop.example/subscription/update-payment?sig=${portal}`,
      customer_portal: `https://shop.example/billing?sig=${portal}`,
    },
    renews_at: renewsAt === null && status !== 'cancelled' && status !== 'expired' ? later : renewsAt,
    ends_at: endsAt, created_at: '2026-01-01T00:00:00.000000Z', updated_at: updatedAt || new Date().toISOString(),
    test_mode: true,
  };
}

/** A subscription_* webhook body (string). */
export function subscriptionEvent(eventName, { subscriptionId = '1', userId, ...attrs } = {}) {
  return JSON.stringify({
    meta: { test_mode: true, event_name: eventName, webhook_id: 'wh-1', custom_data: userId ? { user_id: String(userId) } : undefined },
    data: { type: 'subscriptions', id: String(subscriptionId), attributes: subscriptionAttributes(attrs),
      relationships: {}, links: { self: `https://api.lemonsqueezy.com/v1/subscriptions/${subscriptionId}` } },
  });
}

/** A subscription_payment_* webhook body (a subscription-invoices resource). */
export function paymentEvent(eventName, { invoiceId = '11', subscriptionId = '1', userId, status = 'paid',
  total = 500, updatedAt } = {}) {
  const at = updatedAt || new Date().toISOString();
  return JSON.stringify({
    meta: { test_mode: true, event_name: eventName, webhook_id: 'wh-1', custom_data: userId ? { user_id: String(userId) } : undefined },
    data: {
      type: 'subscription-invoices', id: String(invoiceId),
      attributes: { store_id: 4242, subscription_id: Number(subscriptionId), customer_id: 9001, user_name: 'Buyer',
        user_email: 'buyer@example.com', billing_reason: 'renewal', card_brand: 'visa', card_last_four: '4242',
        currency: 'USD', status, status_formatted: status, refunded: false, subtotal: total, discount_total: 0, tax: 0,
        total, urls: { invoice_url: 'https://shop.example/invoice/11' }, created_at: at, updated_at: at, test_mode: true },
    },
  });
}

// ---- as a program --------------------------------------------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const portFile = process.argv[2];
  const fake = await startLemonSqueezyFake({
    apiKey: process.env.LS_FAKE_API_KEY || 'test_key', storeId: process.env.LS_FAKE_STORE_ID || '4242',
    variantId: process.env.LS_FAKE_VARIANT_ID || '777',
  });
  if (portFile) { fs.writeFileSync(portFile + '.tmp', String(fake.port)); fs.renameSync(portFile + '.tmp', portFile); }
  process.on('SIGTERM', async () => { await fake.close(); process.exit(0); });
}
