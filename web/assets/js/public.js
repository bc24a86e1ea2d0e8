// public.js — the small enhancements of the server-rendered public pages
// (web/site/): the Pro checkout button on /pricing and the request-access form.
// Every page is readable without this script; it never runs on the landing page.

const page = document.body.dataset.page;

function showError(el, message) {
  el.textContent = message;
  el.hidden = false;
}

async function postJson(path, body, csrf) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch(path, { method: 'POST', headers, credentials: 'same-origin', body: JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const e = new Error((data && data.error && data.error.message) || `Request failed (${r.status})`);
    e.fields = (data && data.error && data.error.fields) || {};
    throw e;
  }
  return data;
}

if (page === 'pricing') {
  const button = document.getElementById('pro-checkout');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
  const error = document.getElementById('checkout-error');
  // Signed in (the server put the session's CSRF token in the page): start
  // checkout here. Signed out, the button is a link to sign-up.
  if (button && csrf && button.hasAttribute('data-signed-in')) {
    const start = async () => {
      button.disabled = true;
      button.textContent = 'Opening checkout…';
      try {
        const r = await postJson('/api/billing/checkout', {}, csrf);
        location.assign(r.url);
      } catch (err) {
        showError(error, err.message);
        button.disabled = false;
        button.textContent = 'Upgrade to Pro';
      }
    };
    button.addEventListener('click', start);
    // Back from sign-in with ?checkout=1: continue where the visitor left off.
    if (new URLSearchParams(location.search).get('checkout') === '1') start();
  }
} else if (page === 'request-access') {
  const form = document.getElementById('request-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
    const general = form.querySelector('[data-error]');
    general.hidden = true;
    const data = new FormData(form);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await postJson('/api/access/request', {
        email: data.get('email'), name: data.get('name') || null, business: data.get('business') || null,
        channels: data.getAll('channels'), note: data.get('note') || null,
      });
      form.hidden = true;
      document.getElementById('request-done').hidden = false;
    } catch (err) {
      let placed = false;
      for (const [field, msg] of Object.entries(err.fields)) {
        const el = form.querySelector(`[data-error-for="${field}"]`);
        if (el) { el.textContent = msg; placed = true; }
      }
      if (!placed) showError(general, err.message);
    } finally {
      button.disabled = false;
    }
  });
}
