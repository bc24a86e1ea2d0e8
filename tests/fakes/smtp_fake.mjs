// smtp_fake.mjs — a local SMTP submission server for the tests, speaking real
// SMTP through the npm `smtp-server` package (EHLO, AUTH PLAIN/LOGIN,
// MAIL FROM, RCPT TO, DATA), so mail_smtp's libcurl code path runs end to end.
//
//   const smtp = await startSmtpFake({ user: 'mailer', password: 'secret' });
//   smtp.port; smtp.messages (every accepted message, parsed); smtp.mode = 'refuse';
//   const m = await smtp.waitFor((m) => m.to === 'ada@example.com');
//   await smtp.close();
//
// Modes (smtp.mode, changeable at any time):
//   'ok'            accept every message (default)
//   'refuse-rcpt'   550 5.1.1 on RCPT TO (mailbox unavailable)
//   'refuse-data'   554 5.7.1 after the message data (rejected as spam)
//   'defer'         451 4.3.0 on MAIL FROM (try again later)
//   'hang'          read the message, then never answer (the client's deadline must fire)
// With user/password set, AUTH is required and other credentials get 535.
// TLS: { tls: 'implicit', key, cert } speaks SMTPS from the first byte;
// { tls: 'starttls', key, cert } offers and requires STARTTLS before MAIL.
//
// Parsed message: { from, to, raw, headers: {name: value (unfolded)}, subject
// (RFC 2047 decoded), text (body decoded per Content-Transfer-Encoding), links }.
import { SMTPServer } from 'smtp-server';

/** Decode RFC 2047 encoded-words (B and Q) in a header value. */
export function decodeWords(v) {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, data) => {
    const buf = enc.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return buf.toString(/utf-?8/i.test(cs) ? 'utf8' : 'latin1');
  });
}

/** Split a raw RFC 5322 message into headers and a decoded text body. */
export function parseMessage(raw) {
  const sep = raw.indexOf('\r\n\r\n');
  const head = sep >= 0 ? raw.slice(0, sep) : raw;
  const body = sep >= 0 ? raw.slice(sep + 4) : '';
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  const text = cte === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : body;
  const links = [...text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);
  return { raw, headers, subject: decodeWords(headers.subject || ''), text, links };
}

export async function startSmtpFake({ user = null, password = null, tls = null, key, cert } = {}) {
  const fake = { messages: [], mode: 'ok', sessions: 0, waiters: [] };
  const disabled = [];
  if (!tls || tls === 'implicit') disabled.push('STARTTLS');
  if (!user) disabled.push('AUTH');
  const server = new SMTPServer({
    secure: tls === 'implicit',
    ...(tls ? { key, cert } : {}),
    disabledCommands: disabled,
    authOptional: !user,
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 500,
    onConnect(session, cb) { fake.sessions++; cb(); },
    onAuth(auth, session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      const e = new Error('Authentication credentials invalid'); e.responseCode = 535; return cb(e);
    },
    onMailFrom(address, session, cb) {
      if (tls === 'starttls' && !session.secure) { const e = new Error('5.7.0 Must issue a STARTTLS command first'); e.responseCode = 530; return cb(e); }
      fake.secure = session.secure;
      if (fake.mode === 'defer') { const e = new Error('Try again later'); e.responseCode = 451; return cb(e); }
      return cb();
    },
    onRcptTo(address, session, cb) {
      if (fake.mode === 'refuse-rcpt') { const e = new Error('5.1.1 Mailbox unavailable'); e.responseCode = 550; return cb(e); }
      return cb();
    },
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        if (fake.mode === 'hang') return; // never answer: the client must give up on its own
        if (fake.mode === 'refuse-data') { const e = new Error('5.7.1 Message rejected as spam'); e.responseCode = 554; return cb(e); }
        const raw = Buffer.concat(chunks).toString('utf8');
        const m = { from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address).join(','),
          user: session.user || null, ...parseMessage(raw) };
        fake.messages.push(m);
        for (const w of [...fake.waiters]) if (w.pred(m)) { fake.waiters.splice(fake.waiters.indexOf(w), 1); w.resolve(m); }
        cb(null, 'Queued as fake-' + fake.messages.length);
      });
    },
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  // A client that refuses the certificate ends the handshake: keep the error, stay up.
  fake.errors = [];
  server.on('error', (e) => fake.errors.push(e.code || e.message));
  fake.port = server.server.address().port;
  /** The first message (already received or arriving within ms) matching pred. */
  fake.waitFor = (pred, ms = 5000) => {
    const found = fake.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      fake.waiters.push(w);
      setTimeout(() => { const i = fake.waiters.indexOf(w); if (i >= 0) { fake.waiters.splice(i, 1); reject(new Error('no matching message')); } }, ms);
    });
  };
  fake.close = () => new Promise((resolve) => server.close(resolve));
  return fake;
}
