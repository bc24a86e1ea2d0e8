// auth-pages.js — log-in, sign-up and waitlist pages (body[data-page]).
import { api, loadMe, signOut } from './api.js';

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
