// auth-pages.js — log-in, sign-up, waitlist, address verification, password
// reset and (mock mode) mail log pages (body[data-page]).
import { api, loadMe, signOut, esc } from './api.js';

const page = document.body.dataset.page;
const params = new URLSearchParams(location.search);
// Only same-site paths are accepted as a destination after signing in.
const next = /^\/(?!\/)/.test(params.get('next') || '') ? params.get('next') : '/app';

// Keep the destination when switching between log-in and sign-up.
if (params.get('next') && next !== '/app') {
  for (const a of document.querySelectorAll('a[href="/signup.html"], a[href="/login.html"]')) {
    a.href = `${a.getAttribute('href')}?next=${encodeURIComponent(next)}`;
  }
}

function showErrors(form, err) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  const general = form.querySelector('[data-error]');
  general.textContent = '';
  general.hidden = true;
  let placed = false;
  for (const [field, msg] of Object.entries(err.fields || {})) {
    const el = form.querySelector(`[data-error-for="${field}"]`);
    if (el) { el.textContent = msg; placed = true; }
  }
  if (!placed) { general.textContent = err.message; general.hidden = false; }
}

function afterSignIn(me) {
  // An unconfirmed address first sees "check your inbox" (when mail can be sent).
  if (me.user.email_verified === false && me.mail && me.mail.enabled && !me.access.product) {
    location.assign('/verify-email.html' + (next !== '/app' ? `?next=${encodeURIComponent(next)}` : ''));
    return;
  }
  // /pricing is open to everyone (buying Pro is how a waitlisted account gets in).
  location.assign(me.access.product || /^\/pricing(\?|$)/.test(next) ? next : '/waitlist.html');
}

function bindForm(form, submit) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await submit(Object.fromEntries(new FormData(form)));
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  });
}

async function setUpDemo() {
  const box = document.getElementById('demo');
  if (!box) return;
  try {
    const cfg = await api('/api/auth/config');
    if (!cfg.mock_mode) return;
    box.hidden = false;
    document.getElementById('demo-email').textContent = cfg.demo_email;
    document.getElementById('demo-button').addEventListener('click', async () => {
      try { afterSignIn(await api('/api/dev/demo-login', { method: 'POST', body: {} })); }
      catch (err) { box.querySelector('[data-error]').textContent = err.message; box.querySelector('[data-error]').hidden = false; }
    });
  } catch { /* no demo */ }
}

if (page === 'login') {
  const me = await loadMe().catch(() => null);
  if (me) afterSignIn(me);
  bindForm(document.getElementById('login-form'), async (v) => {
    afterSignIn(await api('/api/auth/login', { method: 'POST', body: { email: v.email, password: v.password } }));
  });
  setUpDemo();
} else if (page === 'signup') {
  bindForm(document.getElementById('signup-form'), async (v) => {
    afterSignIn(await api('/api/auth/signup', { method: 'POST', body: { email: v.email, password: v.password } }));
  });
} else if (page === 'waitlist') {
  const me = await loadMe().catch(() => null);
  const form = document.getElementById('request-form');
  if (me) {
    if (me.access.product) { location.assign('/app'); } else {
      form.elements.email.value = me.user.email;
      if (me.user.email_verified === false && me.mail && me.mail.enabled) {
        const note = document.createElement('p');
        note.className = 'status warn';
        note.innerHTML = 'Confirm your address first: an invitation for it applies only after you open the link we sent. '
          + '<a href="/verify-email.html">Check your inbox or send a new link</a>';
        form.before(note);
      }
      document.getElementById('signed-in').hidden = false;
      document.getElementById('signed-in-email').textContent = me.user.email;
      document.getElementById('sign-out').addEventListener('click', signOut);
    }
  }
  bindForm(form, async (v) => {
    // The answer is the same for every email (it never says whether an
    // address is already waiting or approved).
    const r = await api('/api/access/request', { method: 'POST', body: { email: v.email, name: v.name || null, note: v.note || null } });
    const done = document.getElementById('request-done');
    done.hidden = false;
    done.textContent = r.message;
    form.hidden = true;
  });
}

/* ---- address verification ------------------------------------------------ */

function show(el, text) { el.textContent = text; el.hidden = false; }

async function verifyLink(token) {
  const box = document.getElementById('verify-link');
  const state = box.querySelector('[data-state]');
  const actions = box.querySelector('[data-actions]');
  box.hidden = false;
  try {
    // Look first (a read never uses the link up), then use it.
    await api(`/api/auth/verify-email?token=${encodeURIComponent(token)}`);
    const r = await api('/api/auth/verify-email', { method: 'POST', body: { token } });
    box.querySelector('h1').textContent = 'Address confirmed';
    state.className = 'status ok';
    state.textContent = r.beta_approved
      ? `${r.email} is confirmed and your invitation applies: ClipLoop is open to you.`
      : `${r.email} is confirmed.`;
    const me = await loadMe().catch(() => null);
    actions.innerHTML = me
      ? '<a class="button" href="/app">Continue to ClipLoop</a>'
      : '<a class="button" href="/login.html">Log in</a>';
  } catch (err) {
    box.querySelector('h1').textContent = 'This link cannot be used';
    state.className = 'status error';
    state.textContent = err.message;
    const me = await loadMe().catch(() => null);
    actions.innerHTML = me && me.user.email_verified === false
      ? '<a class="button" href="/verify-email.html">Send a new link</a>'
      : me ? '<a class="button" href="/app">Continue to ClipLoop</a>' : '<a class="button" href="/login.html">Log in</a>';
  }
  actions.hidden = false;
}

async function checkInbox() {
  const me = await loadMe().catch(() => null);
  if (!me) { location.replace('/login.html?next=' + encodeURIComponent('/verify-email.html')); return; }
  if (me.user.email_verified) { location.replace(me.access.product ? next : '/waitlist.html'); return; }
  const box = document.getElementById('verify-inbox');
  box.hidden = false;
  for (const el of box.querySelectorAll('[data-email]')) el.textContent = me.user.email;
  const cont = document.getElementById('verify-continue');
  cont.href = me.access.product ? next : '/waitlist.html';
  document.getElementById('sign-out').addEventListener('click', signOut);
  if (me.mail && me.mail.mail_log) {
    document.getElementById('mail-log-link').hidden = false;
    document.getElementById('mail-log-hint').hidden = false;
  }
  const sent = box.querySelector('[data-sent]');
  const error = box.querySelector('[data-error]');
  const button = document.getElementById('resend');
  button.addEventListener('click', async () => {
    button.disabled = true;
    sent.hidden = true;
    error.hidden = true;
    let wait = 0;
    try {
      const r = await api('/api/auth/verify-email/resend', { method: 'POST', body: {} });
      show(sent, `A new link is on its way to ${r.email}. The earlier one no longer works.`);
      wait = r.resend_after_seconds || 0;
    } catch (err) {
      // Too soon is not a failure: say when, calmly.
      error.className = err.status === 429 ? 'status warn' : 'status error';
      show(error, err.message);
      const m = /try again in (\d+) seconds/.exec(err.message);
      wait = m ? Number(m[1]) : 0;
    }
    // Calm countdown instead of a button that only says no.
    const label = 'Send a new link';
    const tick = () => {
      if (wait <= 0) { button.disabled = false; button.textContent = label; return; }
      button.textContent = `${label} (${wait--} s)`;
      setTimeout(tick, 1000);
    };
    tick();
  });
}

/* ---- mail log (mock mode) -------------------------------------------------- */

function linkify(text) {
  return esc(text).replace(/https?:\/\/[^\s<]+/g, (u) => `<a href="${u}">${u}</a>`);
}

async function mailLog() {
  const list = document.getElementById('mail-list');
  const error = document.querySelector('[data-error]');
  const load = async () => {
    error.hidden = true;
    try {
      const r = await api('/api/dev/mail?limit=50');
      if (!r.messages.length) {
        list.innerHTML = '<div class="card empty"><strong>No mail yet</strong>'
          + '<span>Sign up or ask for a password reset and the message appears here.</span>'
          + '<a class="button" href="/signup.html">Create an account</a></div>';
        return;
      }
      list.innerHTML = r.messages.map((m) => `<article class="mail-item">
        <header><h2>${esc(m.subject)}</h2><span class="muted">${esc(new Date(m.at).toLocaleString())}</span></header>
        <p class="muted">To ${esc(m.to)}</p>
        <p class="mail-body">${linkify(m.text)}</p></article>`).join('');
    } catch (err) {
      show(error, err.status === 404 ? 'The mail log exists only in mock mode (MAIL_PROVIDER=mock).' : err.message);
    }
  };
  document.getElementById('mail-refresh').addEventListener('click', load);
  await load();
}

if (page === 'verify') {
  const token = params.get('token');
  if (token) verifyLink(token); else checkInbox();
} else if (page === 'forgot') {
  const form = document.getElementById('forgot-form');
  bindForm(form, async (v) => {
    const r = await api('/api/auth/password/forgot', { method: 'POST', body: { email: v.email } });
    const done = document.getElementById('forgot-done');
    done.querySelector('[data-message]').textContent = r.message;
    done.hidden = false;
    form.hidden = true;
    const cfg = await api('/api/auth/config').catch(() => null);
    if (cfg && cfg.mail && cfg.mail.mail_log) document.getElementById('forgot-mail-log').hidden = false;
  });
} else if (page === 'reset') {
  const token = params.get('token') || '';
  const form = document.getElementById('reset-form');
  const bad = document.getElementById('reset-bad');
  try {
    const r = await api(`/api/auth/password/reset?token=${encodeURIComponent(token)}`);
    const who = document.getElementById('reset-for');
    who.querySelector('[data-email]').textContent = r.token.email;
    who.hidden = false;
    form.hidden = false;
  } catch (err) {
    bad.querySelector('[data-message]').textContent = err.message;
    bad.hidden = false;
  }
  bindForm(form, async (v) => {
    try {
      await api('/api/auth/password/reset', { method: 'POST', body: { token, password: v.password } });
    } catch (err) {
      if (err.status === 410 || err.status === 400) {
        form.hidden = true;
        bad.querySelector('[data-message]').textContent = err.message;
        bad.hidden = false;
        return;
      }
      throw err;
    }
    form.hidden = true;
    document.getElementById('reset-for').hidden = true;
    document.getElementById('reset-done').hidden = false;
  });
} else if (page === 'mail') {
  mailLog();
}
