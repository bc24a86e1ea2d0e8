// projects.js — the studio's projects: the list (quick access, create), a
// project's detail (profile editing with errors beside each field, website
// ingestion with live progress and per-page outcomes, stored documents), and
// the guided onboarding that a signed-in user without a finished project is
// sent to from /app. Real data only; every empty section offers an action.
import { mountChannels } from './channels.js';
import { api, esc } from './api.js';
import { errorBlock } from './ui.js';
import { renderTrackingSection } from './tracking.js';

const TYPES = [['business', 'Business'], ['creator', 'Creator'], ['app', 'App']];
const CHANNELS = [['instagram', 'Instagram'], ['tiktok', 'TikTok'], ['whatsapp', 'WhatsApp']];
const STYLES = [['english', 'English'], ['pidgin', 'Pidgin'], ['mixed', 'Mixed']];
const STEPS = ['basics', 'business', 'audience', 'channels', 'website'];
const OUTCOMES = {
  ok: 'Ingested', noindex: 'Asked not to be indexed', duplicate: 'Duplicate', robots_disallowed: 'Blocked by robots.txt',
  robots_unavailable: 'robots.txt unavailable', not_html: 'Not a web page', too_large: 'Too large', http_error: 'HTTP error',
  off_site: 'Redirected off site', blocked: 'Refused (private address)', timeout: 'Timed out', error: 'Error',
};

const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

/* ---------------------------------------------------------------------- */
/* Form helpers                                                            */
/* ---------------------------------------------------------------------- */

function input(name, label, value, { type = 'text', placeholder = '', hint = '', textarea = false } = {}) {
  const v = esc(value ?? '');
  const control = textarea
    ? `<textarea class="input" name="${name}" rows="3" placeholder="${esc(placeholder)}">${v}</textarea>`
    : `<input class="input" type="${type}" name="${name}" value="${v}" placeholder="${esc(placeholder)}">`;
  return `<label class="field"><span>${esc(label)}${hint ? ` <span class="muted small">${esc(hint)}</span>` : ''}</span>
    ${control}<span class="field-error" data-error="${name}"></span></label>`;
}

function select(name, label, options, value, { blank = false } = {}) {
  const opts = (blank ? ['<option value="">Choose…</option>'] : [])
    .concat(options.map(([v, l]) => `<option value="${v}"${v === value ? ' selected' : ''}>${esc(l)}</option>`));
  return `<label class="field">${esc(label)}<select class="input" name="${name}">${opts.join('')}</select>
    <span class="field-error" data-error="${name}"></span></label>`;
}

function channelBoxes(value = []) {
  return `<fieldset class="field channel-set"><legend>Preferred channels</legend><div class="chips">
    ${CHANNELS.map(([v, l]) => `<label class="chip"><input type="checkbox" name="preferred_channels" value="${v}"${value.includes(v) ? ' checked' : ''}> ${l}</label>`).join('')}
    </div><span class="field-error" data-error="preferred_channels"></span></fieldset>`;
}

/** The form's values for the given field names (checkbox groups become arrays). */
function values(form, names) {
  const out = {};
  for (const n of names) {
    if (n === 'preferred_channels') out[n] = [...form.querySelectorAll('input[name="preferred_channels"]:checked')].map((i) => i.value);
    else if (form.elements[n]) out[n] = form.elements[n].value;
  }
  return out;
}

function showErrors(form, err) {
  for (const el of form.querySelectorAll('[data-error]')) el.textContent = '';
  const status = form.querySelector('[data-form-status]');
  const fields = (err && err.fields) || {};
  let unplaced = [];
  for (const [k, msg] of Object.entries(fields)) {
    const el = form.querySelector(`[data-error="${k}"]`);
    if (el) el.textContent = msg; else unplaced.push(msg);
  }
  if (status) {
    const text = err ? (unplaced.length ? unplaced.join(' ') : Object.keys(fields).length ? 'Please fix the highlighted fields.' : err.message) : '';
    status.textContent = text;
    status.className = text ? 'status error' : '';
    status.hidden = !text;
  }
}

/** The page's element (#projects-view, made by mountProjectsPage) under heading title. */
function view(title) {
  document.getElementById('title').textContent = title;
  return document.getElementById('projects-view');
}

/* ---------------------------------------------------------------------- */
/* /app/projects                                                           */
/* ---------------------------------------------------------------------- */

async function renderList() {
  const v = view('Projects');
  v.innerHTML = '<p class="muted">Loading projects…</p>';
  let data;
  try { data = await api('/api/projects'); } catch (e) { v.innerHTML = errorBlock(e, 'load your projects', '<a class="button secondary small" href="">Reload</a>'); return; }
  const { projects, limits } = data;
  const active = projects.filter((p) => p.status === 'active');
  const full = limits.max_active_projects >= 0 && limits.active_projects >= limits.max_active_projects;
  const quick = active.slice(0, 4).map((p) => `<a class="chip" href="/app/projects/${p.id}">${esc(p.name)}</a>`).join('');
  const cards = projects.map((p) => `<a class="card project-card" href="/app/projects/${p.id}">
      <div class="row"><h2>${esc(p.name)}</h2><span class="badge ${p.status === 'active' ? 'ok' : ''}">${esc(p.status)}</span></div>
      <p class="muted">${esc([TYPES.find((t) => t[0] === p.project_type)?.[1], p.category, [p.city, p.state].filter(Boolean).join(', ')].filter(Boolean).join(' · '))}</p>
      <p class="small muted">${p.onboarded ? '' : 'Setup not finished · '}${p.documents_count} context document${p.documents_count === 1 ? '' : 's'} · updated ${esc(fmtDate(p.updated_at))}</p>
    </a>`).join('');
  v.innerHTML = `
    ${quick ? `<section class="stack"><h2 class="section-title">Quick access</h2><div class="chips">${quick}</div></section>` : ''}
    <section class="card stack">
      <div class="row"><h2>New project</h2>
        <span class="muted small">${limits.active_projects} of ${limits.max_active_projects < 0 ? 'unlimited' : limits.max_active_projects} active projects on your plan</span></div>
      <form class="grid-2" data-create novalidate>
        ${input('name', 'Project name', '', { placeholder: 'Mama Put Kitchen' })}
        ${select('project_type', 'Type', TYPES, 'business')}
        <div><button class="button" type="submit"${full ? ' disabled' : ''}>Create project</button>
          ${full ? '<p class="muted small">Archive a project or <a href="/pricing">upgrade to Pro</a> to add another.</p>' : ''}</div>
        <p data-form-status hidden></p>
      </form>
    </section>
    ${projects.length ? `<section class="project-grid">${cards}</section>` : `<section class="card empty">
      <p><strong>No projects yet.</strong></p><p>A project holds your business profile, so every post sounds like you.</p>
      <p><a class="button" href="/app/onboarding">Set up your first project</a></p></section>`}`;
  const form = v.querySelector('[data-create]');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const p = await api('/api/projects', { method: 'POST', body: { ...values(form, ['name', 'project_type']), ...browserZone() } });
      location.assign(`/app/projects/${p.id}`);
    } catch (e) { showErrors(form, e); }
  });
}

/* ---------------------------------------------------------------------- */
/* /app/projects/:id                                                       */
/* ---------------------------------------------------------------------- */

const PROFILE_FIELDS = ['name', 'project_type', 'business_name', 'category', 'city', 'state', 'target_audience',
  'primary_offer', 'price_range', 'tone', 'cta', 'instagram_handle', 'whatsapp_number', 'website_url',
  'preferred_channels', 'language_style', 'timezone'];

/** The browser's IANA zone as the new project's default ({} when unknown). */
function browserZone() {
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return tz ? { timezone: tz } : {};
  } catch { return {}; }
}

function profileForm(p) {
  return `<form class="card stack" data-profile novalidate>
    <div class="row"><h2>Business profile</h2><span class="muted small">Saved ${esc(fmtDate(p.updated_at))}</span></div>
    <div class="grid-2">
      ${input('name', 'Project name', p.name)}
      ${select('project_type', 'Type', TYPES, p.project_type)}
      ${input('business_name', 'Business or brand name', p.business_name)}
      ${input('category', 'Category', p.category, { placeholder: 'Restaurant, fashion, fintech…' })}
      ${input('city', 'City', p.city)}
      ${input('state', 'State', p.state)}
    </div>
    ${input('target_audience', 'Target audience', p.target_audience, { textarea: true, placeholder: 'Who buys from you?' })}
    ${input('primary_offer', 'Primary offer', p.primary_offer, { textarea: true, placeholder: 'What do you sell?' })}
    <div class="grid-2">
      ${input('price_range', 'Price range', p.price_range, { placeholder: '₦2,500 – ₦6,000' })}
      ${input('tone', 'Tone', p.tone, { placeholder: 'Warm, playful' })}
      ${input('cta', 'Call to action', p.cta, { placeholder: 'Order on WhatsApp' })}
      ${select('language_style', 'Language style', STYLES, p.language_style || '', { blank: true })}
      ${input('instagram_handle', 'Instagram handle', p.instagram_handle ? '@' + p.instagram_handle : '', { placeholder: '@yourbusiness' })}
      ${input('whatsapp_number', 'WhatsApp number', p.whatsapp_number, { placeholder: '+2348012345678', type: 'tel' })}
    </div>
    ${input('website_url', 'Website', p.website_url, { placeholder: 'https://yourbusiness.com', type: 'url' })}
    ${input('timezone', 'Time zone', p.timezone || 'UTC', { placeholder: 'Africa/Lagos', hint: 'Weeks start on Monday and posts are scheduled in this zone.' })}
    ${channelBoxes(p.preferred_channels)}
    <p data-form-status hidden></p>
    <div class="row"><button class="button" type="submit">Save profile</button>
      <span class="actions">
        <button class="button secondary" type="button" data-archive>${p.status === 'active' ? 'Archive' : 'Restore'}</button>
      </span></div>
  </form>`;
}

function runCard(run, p) {
  if (!run) {
    return `<div class="empty"><p><strong>No website ingested yet.</strong></p>
      <p>${p.website_url ? 'Read your website so ClipLoop can quote your menu, prices and story.' : 'Add your website to the profile first.'}</p>
      <p><button class="button" data-ingest${p.website_url ? '' : ' disabled'}>Read my website</button></p></div>`;
  }
  const live = run.status === 'queued' || run.status === 'running';
  const pct = run.pages_total > 0 ? Math.round((100 * run.pages_fetched) / run.pages_total) : 0;
  const badge = { completed: 'ok', failed: 'error', running: 'warn', queued: 'warn' }[run.status] || '';
  const rows = (run.pages || []).map((pg) => `<tr><td class="url-cell"><a href="${esc(pg.final_url || pg.url)}" rel="noopener noreferrer" target="_blank">${esc(pg.url)}</a>${pg.title ? `<div class="muted small">${esc(pg.title)}</div>` : ''}</td>
      <td><span class="badge ${pg.outcome === 'ok' ? 'ok' : 'warn'}">${esc(OUTCOMES[pg.outcome] || pg.outcome)}</span>${pg.message ? `<details class="error-details"><summary>Details</summary><code>${esc(pg.message)}</code></details>` : ''}</td>
      <td class="num">${pg.http_status ?? ''}</td></tr>`).join('');
  return `<div class="stack">
    <div class="row"><span>${esc(run.start_url)}</span><span class="badge ${badge}">${esc(run.status)}</span></div>
    ${live ? `<div><div class="meter"><span style="width:${pct}%"></span></div>
      <p class="muted small">${run.pages_fetched} of ${run.pages_total || '?'} pages fetched…</p></div>`
    : `<p class="muted small">${run.pages_fetched} page${run.pages_fetched === 1 ? '' : 's'} fetched · ${run.documents} document${run.documents === 1 ? '' : 's'} stored · ${esc(fmtDate(run.finished_at))}</p>`}
    ${run.error ? `<div class="status error" role="alert"><strong>We could not read your website.</strong>
      <span>Check the address in the profile above and read it again — or skip this: ClipLoop works from your profile alone.</span>
      <details class="error-details"><summary>Details</summary><code>${esc(run.error)}</code></details></div>` : ''}
    ${rows ? `<div class="table-wrap"><table class="table"><thead><tr><th>Page</th><th>Outcome</th><th class="num">HTTP</th></tr></thead><tbody>${rows}</tbody></table></div>` : ''}
    ${live ? '' : `<p><button class="button secondary" data-ingest${p.website_url ? '' : ' disabled'}>Read it again</button></p>`}
  </div>`;
}

function docsCard(docs, p) {
  if (!docs.length) {
    return `<div class="empty"><p><strong>No context documents yet.</strong></p>
      <p>Read your website and the text of its pages appears here, for ClipLoop to quote.</p>
      ${p.website_url ? '<p><button class="button secondary" data-ingest>Read my website</button></p>' : ''}</div>`;
  }
  return `<ul class="doc-list">${docs.map((d) => `<li><details data-doc="${d.id}"><summary><strong>${esc(d.title || d.url)}</strong>
      <span class="muted small"> · ${d.chars.toLocaleString()} characters</span><div class="muted small">${esc(d.url)}</div></summary>
      ${d.description ? `<p class="muted">${esc(d.description)}</p>` : ''}
      <p class="doc-text" data-text>${esc(d.excerpt)}${d.chars > d.excerpt.length ? '…' : ''}</p></details></li>`).join('')}</ul>`;
}

async function renderDetail(id) {
  const v = view('Project');
  v.innerHTML = '<p class="muted">Loading project…</p>';
  let p;
  try { p = await api(`/api/projects/${id}`); } catch (e) {
    v.innerHTML = e.status === 404
      ? `<section class="card empty"><p>This project does not exist or is not yours.</p><p><a class="button" href="/app/projects">Back to projects</a></p></section>`
      : errorBlock(e, 'load this project', '<a class="button secondary small" href="">Reload</a> <a class="button secondary small" href="/app/projects">Back to projects</a>');
    return;
  }
  document.getElementById('title').textContent = p.name;
  v.innerHTML = `<p><a class="muted" href="/app/projects">← All projects</a></p>
    ${p.onboarded ? '' : `<p class="status">Setup is not finished. <a href="/app/onboarding">Continue onboarding</a></p>`}
    <section class="card stack" aria-labelledby="week-h"><div class="row"><h2 id="week-h">This week</h2>
      <a class="button" href="/app/projects/${p.id}/weeks/current" data-this-week>Open this week</a></div>
      <div data-weeks><p class="muted">Loading…</p></div></section>
    <section class="card stack" aria-labelledby="pperf-h" data-project-performance><h2 id="pperf-h">Performance</h2><p class="muted">Loading…</p></section>
    <section class="card stack" aria-labelledby="media-h"><div class="row"><h2 id="media-h">Media &amp; brand kit</h2>
      <a class="button secondary" href="/app/projects/${p.id}/media">Open media</a></div>
      <p class="small muted">Your photos, music and fonts, images found on your website, and your logo, colours and fonts for videos.</p></section>
    <section class="card stack" data-channels aria-label="Channels"><p class="muted">Loading channels…</p></section>
    ${profileForm(p)}
    <section class="card stack"><h2>Your website</h2><div data-run><p class="muted">Loading…</p></div></section>
    <section class="card stack"><h2>Context documents</h2><div data-docs><p class="muted">Loading…</p></div></section>
    <section class="card stack" id="tracking" data-tracking-section></section>
    <section class="card stack"><h2>Delete this project</h2>
      <p class="muted">Deletes the project, its documents and its outputs for good. To keep them but stop using the project, archive it instead.</p>
      <p><button class="button secondary danger" type="button" data-delete>Delete project…</button></p></section>`;
  renderTrackingSection(v.querySelector('[data-tracking-section]'), id);
  import('./performance.js').then((m) => m.mountProjectPerformance(v.querySelector('[data-project-performance]'), id));

  const form = v.querySelector('[data-profile]');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showErrors(form, null);
    try {
      p = await api(`/api/projects/${id}`, { method: 'PATCH', body: values(form, PROFILE_FIELDS) });
      document.getElementById('title').textContent = p.name;
      const st = form.querySelector('[data-form-status]');
      st.textContent = 'Saved.'; st.className = 'status ok'; st.hidden = false;
      refresh();
    } catch (e) { showErrors(form, e); }
  });
  form.querySelector('[data-archive]').addEventListener('click', async () => {
    try {
      p = await api(`/api/projects/${id}`, { method: 'PATCH', body: { status: p.status === 'active' ? 'archived' : 'active' } });
      renderDetail(id);
    } catch (e) { showErrors(form, e); }
  });
  v.querySelector('[data-delete]').addEventListener('click', async () => {
    if (!confirm(`Delete ${p.name} and its documents? This cannot be undone.`)) return;
    try { await api(`/api/projects/${id}`, { method: 'DELETE' }); location.assign('/app/projects'); } catch (e) { showErrors(form, e); }
  });

  mountChannels(v.querySelector('[data-channels]'), id, new URLSearchParams(location.search));
  const runEl = v.querySelector('[data-run]');
  const docsEl = v.querySelector('[data-docs]');
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const [{ run }, { documents }] = await Promise.all([api(`/api/projects/${id}/ingestion`), api(`/api/projects/${id}/documents`)]);
      runEl.innerHTML = runCard(run, p);
      docsEl.innerHTML = docsCard(documents, p);
      if (run && (run.status === 'queued' || run.status === 'running')) timer = setTimeout(refresh, 1500);
    } catch (e) { runEl.innerHTML = errorBlock(e, 'load your website\'s status', '<button class="button secondary small" data-retry-refresh>Try again</button>'); }
  }
  v.addEventListener('click', async (ev) => {
    if (ev.target.closest('[data-retry-refresh]')) { refresh(); return; }
    const b = ev.target.closest('[data-ingest]');
    if (!b) return;
    b.disabled = true;
    try { await api(`/api/projects/${id}/ingest`, { method: 'POST', body: {} }); } catch (e) {
      runEl.insertAdjacentHTML('afterbegin', e.fields?.website_url ? `<p class="status error">${esc(e.fields.website_url)}</p>` : errorBlock(e, 'start reading your website'));
    }
    refresh();
  });
  v.addEventListener('toggle', async (ev) => {
    const d = ev.target.closest?.('[data-doc]');
    if (!d || !d.open || d.dataset.loaded) return;
    d.dataset.loaded = '1';
    try { d.querySelector('[data-text]').textContent = (await api(`/api/projects/${id}/documents/${d.dataset.doc}`)).text; } catch { /* keep the excerpt */ }
  }, true);
  refresh();
  api(`/api/projects/${id}/strategy-cycles`).then((r) => {
    const el = v.querySelector('[data-weeks]');
    el.innerHTML = r.cycles.length
      ? `<ul class="list">${r.cycles.slice(0, 6).map((y) => `<li><div><a href="/app/projects/${id}/weeks/${y.id}">Week of ${esc(y.week_start)}</a>
          <div class="small muted">${y.items ? `${y.items} posts · ${y.scheduled} scheduled or published` : 'No posts yet'}${y.week_start === r.current_week_start ? ' · this week' : ''}</div></div>
          <span class="badge ${y.status === 'active' ? 'ok' : ''}">${esc(y.status)}</span></li>`).join('')}</ul>`
      : `<p class="small muted">Plan a week of 5 posts from your profile: generate, render, approve and schedule them in one place. Times use ${esc(r.timezone)}.</p>`;
  }).catch(() => { v.querySelector('[data-weeks]').innerHTML = ''; });
}

/* ---------------------------------------------------------------------- */
/* /app/onboarding                                                         */
/* ---------------------------------------------------------------------- */

function stepForm(step, p) {
  const i = STEPS.indexOf(step);
  const head = `<p class="muted small">Step ${i + 1} of ${STEPS.length}</p><div class="meter"><span style="width:${Math.round((100 * (i + 1)) / STEPS.length)}%"></span></div>`;
  const body = {
    basics: `<h2>What are you promoting?</h2>${select('project_type', 'Type', TYPES, p.project_type || 'business')}
      ${input('name', 'Project name', p.name, { placeholder: 'Mama Put Kitchen' })}`,
    business: `<h2>Your business</h2><div class="grid-2">${input('business_name', 'Business or brand name', p.business_name ?? p.name)}
      ${input('category', 'Category', p.category, { placeholder: 'Restaurant, fashion, fintech…' })}
      ${input('city', 'City', p.city)}${input('state', 'State', p.state)}</div>
      ${input('primary_offer', 'What do you sell?', p.primary_offer, { textarea: true })}
      ${input('price_range', 'Price range', p.price_range, { placeholder: '₦2,500 – ₦6,000' })}`,
    audience: `<h2>Your audience and voice</h2>${input('target_audience', 'Who buys from you?', p.target_audience, { textarea: true })}
      <div class="grid-2">${input('tone', 'Tone', p.tone, { placeholder: 'Warm, playful' })}
      ${input('cta', 'Call to action', p.cta, { placeholder: 'Order on WhatsApp' })}</div>
      ${select('language_style', 'Language style', STYLES, p.language_style || '', { blank: true })}`,
    channels: `<h2>Where you post</h2>${channelBoxes(p.preferred_channels || [])}
      <div class="grid-2">${input('instagram_handle', 'Instagram handle', p.instagram_handle ? '@' + p.instagram_handle : '', { placeholder: '@yourbusiness' })}
      ${input('whatsapp_number', 'WhatsApp number', p.whatsapp_number, { placeholder: '+2348012345678', type: 'tel' })}</div>`,
    website: `<h2>Your website and logo (optional)</h2>${input('website_url', 'Website', p.website_url, { placeholder: 'https://yourbusiness.com', type: 'url' })}
      <label class="chip"><input type="checkbox" name="ingest" checked> Read my website so posts can quote it</label>
      <label class="field">Your logo (optional)<input class="input" type="file" name="logo" accept="image/*">
        <span class="field-hint">Videos show it, and your brand colours are taken from it — or from your website without a logo. Change both later on the project's Media page.</span></label>`,
  }[step];
  return `<form class="card stack onboarding" novalidate>${head}${body}<p data-form-status hidden></p>
    <div class="row">${i > 0 ? '<button class="button secondary" type="button" data-back>Back</button>' : '<span></span>'}
      <button class="button" type="submit">${step === 'website' ? 'Finish' : 'Continue'}</button></div></form>`;
}

const STEP_FIELDS = {
  basics: ['project_type', 'name'],
  business: ['business_name', 'category', 'city', 'state', 'primary_offer', 'price_range'],
  audience: ['target_audience', 'tone', 'cta', 'language_style'],
  channels: ['preferred_channels', 'instagram_handle', 'whatsapp_number'],
  website: ['website_url'],
};

/*
 * Finish's website step: start reading the site and watch it for a few
 * seconds. true → go on to the studio (read, or still reading: the dashboard
 * shows its progress); false → the form now says plainly that the site could
 * not be read, with the ways forward (fix the address, or go on without it).
 */
async function readWebsite(form, p) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  button.textContent = 'Reading your website…';
  let failure = null;
  try {
    await api(`/api/projects/${p.id}/ingest`, { method: 'POST', body: {} });
    for (let i = 0; i < 16; i++) {
      const { run } = await api(`/api/projects/${p.id}/ingestion`);
      if (run && run.status === 'failed') { failure = run.error || 'the site did not answer'; break; }
      if (!run || run.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    failure = e.fields?.website_url || e.message || String(e);
  }
  button.disabled = false;
  button.textContent = 'Finish';
  if (!failure) return true;
  form.querySelector('[data-finish-status]')?.remove();
  form.insertAdjacentHTML('beforeend', `<div class="status error" role="alert" data-finish-status>
    <strong>We could not read ${esc(p.website_url)}.</strong>
    <span>Your business is set up. Check the address above and press Finish to try again, or go on: ClipLoop writes from your profile alone, and you can read the site later from the project page.</span>
    <details class="error-details"><summary>Details</summary><code>${esc(failure)}</code></details>
    <p class="cluster"><a class="button secondary small" href="/app">Go to the studio</a></p></div>`);
  return false;
}

/*
 * Finish's brand step: the logo (if one was chosen) goes into the media
 * library and the brand kit, with colours taken from it — or from the
 * website's theme colours when there is no logo. true → go on; false → the
 * logo was refused and the form says why (pick another or go on).
 */
async function applyBrand(form, p) {
  const file = form.elements.logo?.files?.[0];
  const button = form.querySelector('button[type="submit"]');
  const kit = {};
  try {
    if (file) {
      button.disabled = true;
      button.textContent = 'Adding your logo…';
      const { uploadFile } = await import('./media.js');
      const r = await uploadFile(p.id, file, () => {});
      kit.logo_media_id = r.media.id;
      try {
        kit.colors = (await api(`/api/projects/${p.id}/brand-kit/colors`, { method: 'POST', body: { from: 'logo', logo_media_id: r.media.id } })).colors;
      } catch { /* a logo without a usable colour: the kit keeps the logo alone */ }
    } else if (p.website_url) {
      // the website's colours are stored moments after its pages
      for (let i = 0; i < 3 && !kit.colors; i++) {
        const { brand_kit: k } = await api(`/api/projects/${p.id}/brand-kit`);
        if (k.site_colors.length) kit.colors = k.site_colors.slice(0, 3);
        else await new Promise((res) => setTimeout(res, 700));
      }
    }
    if (Object.keys(kit).length) await api(`/api/projects/${p.id}/brand-kit`, { method: 'PUT', body: kit });
    return true;
  } catch (e) {
    const { uploadError } = await import('./media.js');
    form.querySelector('[data-finish-status]')?.remove();
    form.insertAdjacentHTML('beforeend', `<div class="status error" role="alert" data-finish-status>
      <strong>We could not use that logo.</strong><span>${esc(e.status ? uploadError(e) : e.message || String(e))} Pick another image and press Finish, or go on and add it later on the project's Media page.</span>
      <p class="cluster"><a class="button secondary small" href="/app">Go to the studio</a></p></div>`);
    return false;
  } finally {
    button.disabled = false;
    button.textContent = 'Finish';
  }
}

async function renderOnboarding() {
  const v = view('Set up your business');
  let state;
  try { state = await api('/api/onboarding'); } catch (e) { v.innerHTML = errorBlock(e, 'load your setup', '<a class="button secondary small" href="">Reload</a>'); return; }
  if (state.state === 'done' && !state.project) {
    v.innerHTML = `<section class="card empty"><p><strong>You're all set up.</strong></p>
      <p><a class="button" href="/app">Go to the studio</a> <a class="button secondary" href="/app/projects">Projects</a></p></section>`;
    return;
  }
  let p = state.project || {};
  let step = state.project ? (STEPS.includes(state.step) ? state.step : 'business') : 'basics';
  const draw = () => {
    v.innerHTML = stepForm(step, p);
    const form = v.querySelector('form');
    v.querySelector('[data-back]')?.addEventListener('click', () => { step = STEPS[STEPS.indexOf(step) - 1]; draw(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showErrors(form, null);
      const next = step === 'website' ? 'done' : STEPS[STEPS.indexOf(step) + 1];
      const body = { ...values(form, STEP_FIELDS[step]), onboarding_step: next };
      try {
        p = p.id ? await api(`/api/projects/${p.id}`, { method: 'PATCH', body })
          : await api('/api/projects', { method: 'POST', body: { ...body, ...browserZone() } });
        if (next === 'done') {
          if (form.elements.ingest?.checked && p.website_url && !(await readWebsite(form, p))) return;
          if (!(await applyBrand(form, p))) return;
          location.assign('/app');
          return;
        }
        step = next;
        draw();
      } catch (e) {
        // Finishing can name fields of earlier steps: go back to the first one.
        const back = STEPS.find((s) => STEP_FIELDS[s].some((f) => e.fields && e.fields[f]));
        if (back && back !== step) { step = back; draw(); showErrors(v.querySelector('form'), e); } else showErrors(form, e);
      }
    });
  };
  draw();
}

/**
 * Mount the projects views for path. /app sends a user without a finished
 * project to onboarding; /app/onboarding, /app/projects and
 * /app/projects/<id> render here. Returns true when the path was handled.
 */
export async function mountProjects(path) {
  if (path === '/app' || path === '/app/') {
    try {
      const o = await api('/api/onboarding');
      if (o.state !== 'done') { location.replace('/app/onboarding'); return true; }
    } catch { /* leave the home page as it is */ }
    return false;
  }
  if (path === '/app/onboarding') { await renderOnboarding(); return true; }
  if (path === '/app/projects' || path === '/app/projects/') { await renderList(); return true; }
  const m = /^\/app\/projects\/(\d+)\/?$/.exec(path);
  if (m) { await renderDetail(m[1]); return true; }
  return false;
}

/**
 * The studio router's entry (app.js): render the projects page for ctx.path
 * into view (which becomes #projects-view). Shows a not-found state for a
 * path projects.js does not handle.
 */
export async function mountProjectsPage(view, ctx) {
  view.id = 'projects-view';
  view.className = 'stack loose';
  const week = /^\/app\/projects\/(\d+)\/weeks\/(\d+|current)\/?$/.exec(ctx.path);
  if (week) {
    const { renderWeek } = await import('./week.js');
    await renderWeek(view, ctx, week[1], week[2]);
    return;
  }
  const media = /^\/app\/projects\/(\d+)\/media\/?$/.exec(ctx.path);
  if (media) {
    const { renderMediaPage } = await import('./media.js');
    await renderMediaPage(view, ctx, media[1]);
    return;
  }
  if (!(await mountProjects(ctx.path))) {
    view.innerHTML = `<section class="card empty"><strong>There is no such project page.</strong>
      <a class="button" href="/app/projects">All projects</a></section>`;
  }
}
