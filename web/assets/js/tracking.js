// tracking.js — the tracking pieces of the studio:
//   trackingSlot(itemId) / hydrateTracking(root): on any item or result
//     card, the item's link with a copy button, its clicks, sign-ups and
//     revenue (read again every 5 s while the page is visible), and the
//     "add a destination" state with an inline form;
//   trackingCount(itemId) / hydrateCounts(root): a one-line summary for
//     compact tiles (no controls);
//   renderTrackingSection(el, projectId): the project page's "Tracking"
//     section (snippet, allowed origins, keys, manual revenue, last events).
// Every value shown is escaped; API errors are calm status blocks.
import { api, esc } from './api.js';
import { statusBlock, emptyState, fmtAgo, skeleton } from './ui.js';

/** "$19.99", "₦5,000.00" from minor units. */
export function money(minor, currency) {
  try {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(minor / 10 ** digits);
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}

function revenueText(list) {
  return list && list.length ? list.map((r) => money(r.amount_minor, r.currency)).join(' + ') : '—';
}

/** A placeholder for the full tracking block of one item (filled by hydrateTracking). */
export function trackingSlot(itemId) {
  return `<div class="tracking" data-tracking-item="${esc(itemId)}">${skeleton(1)}</div>`;
}

/** A placeholder for a one-line summary with a "Copy link" button (filled by hydrateCounts). */
export function trackingCount(itemId) {
  return `<div class="tile-tracking" data-tracking-count="${esc(itemId)}"></div>`;
}

async function fetchItems(ids) {
  if (!ids.length) return new Map();
  const { items } = await api(`/api/tracking/items?ids=${ids.join(',')}`);
  return new Map(items.map((x) => [String(x.content_item_id), x]));
}

function statsHtml(t) {
  return `<dl class="tracking-stats">
    <div><dt>Clicks</dt><dd data-testid="tracking-clicks">${t.clicks}</dd></div>
    <div><dt>Sign-ups</dt><dd data-testid="tracking-signups">${t.signups}</dd></div>
    <div><dt>Revenue</dt><dd data-testid="tracking-revenue">${esc(revenueText(t.revenue))}</dd></div></dl>`;
}

function destinationForm(t, open) {
  return `<form class="tracking-dest" data-dest-form${open ? '' : ' hidden'}>
    <label class="field">Where should the link go?
      <input class="input" name="cta_url" type="url" inputmode="url" placeholder="https://your-site.example/offer"
        value="${esc(t.cta_url || '')}" required>
      <span class="field-hint">This post's own link. Leave it to your project's website by clearing it.</span>
      <span class="field-error" data-error></span></label>
    <div class="cluster"><button class="button small" type="submit">Save destination</button>
      ${t.cta_url ? '<button class="button small secondary" type="button" data-dest-clear>Use the website</button>' : ''}
      <button class="button small secondary" type="button" data-dest-cancel>Cancel</button></div></form>`;
}

function blockHtml(t) {
  if (!t.destination) {
    return `<div class="stack" data-testid="tracking-block">
      ${statusBlock('warn', 'Add a destination for this post\'s link', 'The tracking link has nowhere to send people yet: add a link for this post, or a website to the project.', '<button class="button small" type="button" data-dest-open>Add a destination</button>')}
      ${destinationForm(t, false)}</div>`;
  }
  let host = t.destination;
  try { host = new URL(t.destination).host; } catch { /* show it as it is */ }
  return `<div class="stack" data-testid="tracking-block">
    <div class="tracking-link">
      <label class="visually-hidden" for="tl-${esc(t.content_item_id)}">Tracking link</label>
      <input class="input" id="tl-${esc(t.content_item_id)}" readonly value="${esc(t.url)}" data-testid="tracking-url">
      <button class="button small secondary" type="button" data-copy="${esc(t.url)}" data-testid="copy-link">Copy link</button>
    </div>
    <p class="small muted">Goes to ${esc(host)} (${t.destination_source === 'item' ? 'this post\'s link' : 'project website'}) ·
      <button class="link small" type="button" data-dest-open>Change</button></p>
    ${destinationForm(t, false)}
    ${statsHtml(t)}</div>`;
}

async function copy(button) {
  const text = button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (http, old browser): select the text instead.
    const input = button.parentElement.querySelector('input');
    input?.select();
    document.execCommand?.('copy');
  }
  const old = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = old; }, 1500);
}

function bind(el, t) {
  el.querySelector('[data-copy]')?.addEventListener('click', (ev) => copy(ev.currentTarget));
  const form = el.querySelector('[data-dest-form]');
  el.querySelectorAll('[data-dest-open]').forEach((b) => b.addEventListener('click', () => {
    form.hidden = false;
    form.querySelector('input').focus();
  }));
  form.querySelector('[data-dest-cancel]').addEventListener('click', () => { form.hidden = true; });
  const save = async (url) => {
    form.querySelector('[data-error]').textContent = '';
    try {
      const next = await api(`/api/content-items/${t.content_item_id}/destination`, { method: 'PUT', body: { cta_url: url } });
      el.innerHTML = blockHtml(next);
      bind(el, next);
    } catch (e) {
      form.querySelector('[data-error]').textContent = e.fields?.cta_url || e.message;
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); save(form.cta_url.value.trim()); });
  form.querySelector('[data-dest-clear]')?.addEventListener('click', () => save(null));
}

/** Fill every [data-tracking-item] placeholder under root. */
export async function hydrateTracking(root) {
  const slots = [...root.querySelectorAll('[data-tracking-item]')];
  if (!slots.length) return;
  let byId;
  try { byId = await fetchItems([...new Set(slots.map((s) => s.dataset.trackingItem))]); } catch (e) {
    for (const s of slots) s.innerHTML = `<p class="small muted">Tracking is unavailable right now (${esc(e.message)}).</p>`;
    return;
  }
  for (const s of slots) {
    const t = byId.get(s.dataset.trackingItem);
    if (!t) { s.innerHTML = ''; continue; }
    s.innerHTML = blockHtml(t);
    bind(s, t);
  }
  refreshStats(slots);
}

/** Clicks are stored in batches, seconds after they happen: while the cards are on the page and it is
    visible, their counts are read again every STATS_EVERY_MS (only the counts: a destination being
    edited stays as it is). Stops once none of the cards is on the page. */
const STATS_EVERY_MS = 5000;
function refreshStats(slots) {
  const tick = async () => {
    const live = slots.filter((s) => s.isConnected);
    if (!live.length) return;
    if (document.visibilityState === 'visible') {
      try {
        const byId = await fetchItems([...new Set(live.map((s) => s.dataset.trackingItem))]);
        for (const s of live) {
          const t = byId.get(s.dataset.trackingItem);
          const stats = s.querySelector('.tracking-stats');
          if (t && stats) stats.outerHTML = statsHtml(t);
        }
      } catch { /* keep the last counts; the next tick tries again */ }
    }
    setTimeout(tick, STATS_EVERY_MS);
  };
  setTimeout(tick, STATS_EVERY_MS);
}

/** Fill every [data-tracking-count] under root with "12 clicks · 3 sign-ups · $40.00". */
export async function hydrateCounts(root, known) {
  const slots = [...root.querySelectorAll('[data-tracking-count]')];
  if (!slots.length) return;
  let byId;
  if (known) byId = new Map(known.map((x) => [String(x.content_item_id), x])); // already fetched (GET /api/home)
  else try { byId = await fetchItems([...new Set(slots.map((s) => s.dataset.trackingCount))]); } catch { return; }
  for (const s of slots) {
    const t = byId.get(s.dataset.trackingCount);
    if (!t) continue;
    const rev = t.revenue.length ? ` · ${revenueText(t.revenue)}` : '';
    const text = t.destination
      ? `${t.clicks} click${t.clicks === 1 ? '' : 's'} · ${t.signups} sign-up${t.signups === 1 ? '' : 's'}${rev}`
      : 'No link destination yet';
    s.innerHTML = `<span class="small muted" data-testid="tile-counts">${esc(text)}</span>
      ${t.destination ? `<button class="link small" type="button" data-copy="${esc(t.url)}" aria-label="Copy the tracking link of ${esc(t.content_item_id)}">Copy link</button>`
    : `<a class="small" href="/app/create?item=${encodeURIComponent(t.content_item_id)}">Add a destination</a>`}`;
    s.querySelector('[data-copy]')?.addEventListener('click', (ev) => copy(ev.currentTarget));
  }
}

/* ---------------------------------------------------------------------- */
/* The project page's Tracking section                                    */
/* ---------------------------------------------------------------------- */

const EVENT_LABELS = { click: 'Click', bot_click: 'Link preview (bot)', conversion: 'Conversion', revenue: 'Revenue' };

function eventsHtml(events) {
  if (!events.length) {
    return emptyState('No events yet.', 'Open one of your posts\' tracking links, or send a test conversion from your site: it shows up here within seconds.');
  }
  return `<ul class="history" data-testid="tracking-events">${events.map((e) => {
    const what = e.kind === 'revenue' ? `${money(e.amount_minor, e.currency)} · ${e.event_type}`
      : e.kind === 'conversion' ? e.event_type : e.bot_pattern ? `matched “${e.bot_pattern}”` : '';
    const via = e.kind === 'conversion' || e.kind === 'revenue'
      ? { click: 'via the click', content_item: 'via the post id', project: 'to the project' }[e.attributed_via] : '';
    return `<li><div><div><strong>${esc(EVENT_LABELS[e.kind] || e.kind)}</strong>${what ? ` · ${esc(what)}` : ''}</div>
      <div class="small muted">${esc(e.item_title || (e.item_id ? `Post ${e.item_id}` : 'No post'))}${via ? ` · ${esc(via)}` : ''}</div></div>
      <span class="small muted history-amount">${esc(fmtAgo(e.at))}</span></li>`;
  }).join('')}</ul>`;
}

function settingsHtml(s) {
  const origins = s.allowed_origins.join('\n');
  const hint = !s.origins_from_website ? 'Clear the list to go back to your website\'s origin.'
    : origins ? 'Now: your website\'s origin (the default). Save a list to allow other sites too.'
      : 'Your project has no website yet: list the sites that may send conversions, or add the website to the profile.';
  return `<div class="stack loose">
    <div class="stack">
      <h3 class="section-title">1 · Paste this on your website</h3>
      <p class="small muted">Put it on every page people land on from your posts. It remembers which post sent them.</p>
      <div class="tracking-link"><label class="visually-hidden" for="tr-snippet">Snippet</label>
        <input class="input mono" id="tr-snippet" readonly value="${esc(s.snippet)}" data-testid="tracking-snippet">
        <button class="button small secondary" type="button" data-copy="${esc(s.snippet)}">Copy</button></div>
      <p class="small muted">When someone signs up, call <code>ClipLoopTracking.conversion({ eventType: 'signup', externalUserId: '…' })</code>.
        Publishable key: <code data-testid="publishable-key">${esc(s.publishable_key)}</code>
        <button class="link small" type="button" data-rotate-pk>Rotate</button></p>
    </div>
    <form class="stack" data-origins>
      <h3 class="section-title">2 · Sites allowed to send conversions</h3>
      <label class="field">One origin per line
        <textarea class="input" name="origins" rows="3" placeholder="https://shop.example">${esc(origins)}</textarea>
        <span class="field-hint">${esc(hint)}</span>
        <span class="field-error" data-error></span></label>
      <div class="cluster"><button class="button small secondary" type="submit">Save origins</button><span class="small muted" data-saved></span></div>
    </form>
    <div class="stack">
      <h3 class="section-title">3 · Server-to-server (revenue)</h3>
      <p class="small muted">Revenue is only accepted with the secret key, from your server: <code>POST ${esc(s.revenue_url)}</code> with
        <code>Authorization: Bearer …</code>. Never put it in a web page.</p>
      ${s.secret_key ? `<p class="small">Secret key ending in <code>${esc(s.secret_key.hint)}</code> · created ${esc(fmtAgo(s.secret_key.created_at))}</p>` : ''}
      <div data-new-secret></div>
      <div><button class="button small ${s.secret_key ? 'secondary' : ''}" type="button" data-secret>${s.secret_key ? 'Rotate secret key' : 'Create secret key'}</button></div>
    </div></div>`;
}

function revenueForm() {
  const opts = ['USD', 'EUR', 'GBP', 'NGN', 'GHS', 'KES', 'ZAR', 'CAD', 'INR'].map((c) => `<option>${c}</option>`).join('');
  return `<form class="stack" data-revenue>
    <h3 class="section-title">Record a sale by hand</h3>
    <div class="grid-3">
      <label class="field">Amount<input class="input" name="amount" inputmode="decimal" placeholder="49.99" required></label>
      <label class="field">Currency<select class="input" name="currency">${opts}</select></label>
      <label class="field">Post id <span class="muted">(optional)</span><input class="input" name="item" inputmode="numeric" placeholder="e.g. 12"></label>
    </div>
    <span class="field-error" data-error></span>
    <div class="cluster"><button class="button small secondary" type="submit">Record sale</button><span class="small muted" data-saved></span></div>
  </form>`;
}

/** The project page's Tracking section into el (a card). Returns a stop function for the live list. */
export async function renderTrackingSection(el, projectId) {
  el.innerHTML = `<h2>Tracking</h2>
    <p class="small muted">See which posts bring clicks, sign-ups and sales: every post has its own link; your site reports what happens next.</p>
    <div data-settings>${skeleton(3)}</div>
    <div class="stack">${revenueForm()}</div>
    <div class="stack"><div class="row"><h3 class="section-title">Last events</h3><span class="badge"><span class="dot"></span> Live</span></div>
      <div data-events>${skeleton(2)}</div></div>`;
  const settingsEl = el.querySelector('[data-settings]');
  const eventsEl = el.querySelector('[data-events]');
  let timer = null;
  let stopped = false;

  const showSettings = (s) => {
    settingsEl.innerHTML = settingsHtml(s);
    settingsEl.querySelectorAll('[data-copy]').forEach((b) => b.addEventListener('click', (ev) => copy(ev.currentTarget)));
    if (s.new_secret_key) {
      settingsEl.querySelector('[data-new-secret]').innerHTML = statusBlock('warn', 'Copy your secret key now',
        'It is shown only this once. Store it on your server; rotating it makes this one stop working.',
        `<div class="tracking-link"><input class="input mono" readonly value="${esc(s.new_secret_key)}" data-testid="new-secret-key" aria-label="New secret key">
          <button class="button small" type="button" data-copy="${esc(s.new_secret_key)}">Copy</button></div>`);
      settingsEl.querySelector('[data-new-secret] [data-copy]').addEventListener('click', (ev) => copy(ev.currentTarget));
    }
    const form = settingsEl.querySelector('[data-origins]');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const lines = form.origins.value.split('\n').map((x) => x.trim()).filter(Boolean);
      form.querySelector('[data-error]').textContent = '';
      try {
        showSettings(await api(`/api/projects/${projectId}/tracking`, { method: 'PATCH', body: { allowed_origins: lines.length ? lines : null } }));
        settingsEl.querySelector('[data-origins] [data-saved]').textContent = 'Saved.';
      } catch (e) { form.querySelector('[data-error]').textContent = e.fields?.allowed_origins || e.message; }
    });
    settingsEl.querySelector('[data-secret]').addEventListener('click', async (ev) => {
      if (s.secret_key && !confirm('Rotate the secret key? Servers using the current one will be refused until you update them.')) return;
      ev.currentTarget.disabled = true;
      try { showSettings(await api(`/api/projects/${projectId}/tracking/secret-key`, { method: 'POST', body: {} })); } catch (e) {
        settingsEl.querySelector('[data-new-secret]').innerHTML = statusBlock('error', 'Could not create the key.', e.message);
      }
    });
    settingsEl.querySelector('[data-rotate-pk]').addEventListener('click', async () => {
      if (!confirm('Rotate the publishable key? Update the snippet on your site afterwards.')) return;
      try { showSettings(await api(`/api/projects/${projectId}/tracking/publishable-key`, { method: 'POST', body: {} })); } catch { /* keep the old view */ }
    });
  };

  const rev = el.querySelector('[data-revenue]');
  rev.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = rev.querySelector('[data-error]');
    err.textContent = '';
    const currency = rev.currency.value;
    const digits = new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    const amount = Math.round(Number(rev.amount.value.replace(',', '.')) * 10 ** digits);
    if (!Number.isFinite(amount) || amount <= 0) { err.textContent = 'Enter an amount greater than 0.'; return; }
    const body = { amount, currency, eventName: 'manual_sale', source: 'manual', eventId: `manual-${Date.now()}-${Math.random().toString(36).slice(2, 8)}` };
    if (rev.item.value.trim()) body.contentItemId = rev.item.value.trim(); else body.projectId = projectId;
    try {
      await api('/api/track/revenue', { method: 'POST', body });
      rev.querySelector('[data-saved]').textContent = `Recorded ${money(amount, currency)}.`;
      rev.amount.value = '';
      loadEvents();
    } catch (e) { err.textContent = Object.values(e.fields || {})[0] || e.message; }
  });

  async function loadEvents() {
    clearTimeout(timer);
    if (stopped || !el.isConnected) return;
    try {
      const { events } = await api(`/api/projects/${projectId}/tracking/events?limit=15`);
      eventsEl.innerHTML = eventsHtml(events);
    } catch (e) {
      eventsEl.innerHTML = statusBlock('error', 'Could not load the last events.', e.message);
    }
    timer = setTimeout(loadEvents, 4000);
  }

  try { showSettings(await api(`/api/projects/${projectId}/tracking`)); } catch (e) {
    settingsEl.innerHTML = statusBlock('error', 'Could not load the tracking settings.', e.message);
  }
  loadEvents();
  return () => { stopped = true; clearTimeout(timer); };
}
