// create.js — /app/create, the guided create flow:
//   1. a rough prompt → "Write the brief" (POST /api/create/brief, free);
//   2. the brief's fields, all editable (channel, tone, duration, style, CTA,
//      caption hint, title);
//   3. the cost and the current balance (GET /api/create/cost) before
//      anything is charged, then one Generate (POST /api/create/generate);
//   4. the render's progress bar, then the result: video, caption, CTA,
//      channel, receipts and downloads.
// /app/create?item=<id> shows (and, while rendering, follows) one output.
//
// Idempotency: every Generate intent gets one request_id (a random UUID);
// retrying the same intent after a dropped connection or a server error
// sends the same id, so the server charges at most once. A new id is made
// only when the request or brief changed, or the previous attempt was
// settled (refunded) by the server.
import { api, esc, ApiError } from './api.js';
import {
  CHANNELS, channelLabel, credits, emptyState, errorBlock, fmtDate, friendlyError, progress, receiptLabel, skeleton, statusBadge,
  statusBlock,
} from './ui.js';
import { trackingSlot, hydrateTracking } from './tracking.js';

const POLL_MS = 800;
const KIND_LABEL = { generation: 'Script, caption and call to action', render: 'Video render (1080×1920 MP4)' };

/** A request id for one Generate intent: [A-Za-z0-9-], 36 characters. */
function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'req-' + [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

let uid = 0;
/** A labelled control; the hint and the error are described-by, not part of the label. */
function field(name, label, value, { type = 'text', hint = '', textarea = false, rows = 2, attrs = '' } = {}) {
  const id = `f-${name}-${++uid}`;
  const v = esc(value ?? '');
  const described = `aria-describedby="${id}-err${hint ? ` ${id}-hint` : ''}"`;
  const control = textarea
    ? `<textarea class="input" id="${id}" name="${name}" rows="${rows}" ${described} ${attrs}>${v}</textarea>`
    : `<input class="input" id="${id}" type="${type}" name="${name}" value="${v}" ${described} ${attrs}>`;
  return `<div class="field"><label for="${id}">${esc(label)}</label>${control}
    ${hint ? `<span class="field-hint" id="${id}-hint">${esc(hint)}</span>` : ''}
    <span class="field-error" id="${id}-err" data-error="${name}"></span></div>`;
}

/** The channel select as a labelled field. */
function channelField(name, value, { auto = false } = {}) {
  const id = `f-${name}-${++uid}`;
  const opts = (auto ? ['<option value="">Let ClipLoop choose</option>'] : [])
    .concat(CHANNELS.map(([v, l]) => `<option value="${v}"${v === value ? ' selected' : ''}>${l}</option>`));
  return `<div class="field"><label for="${id}">Channel</label><select class="input" id="${id}" name="${name}" aria-describedby="${id}-err">${opts.join('')}</select>
    <span class="field-error" id="${id}-err" data-error="${name}"></span></div>`;
}

function showFieldErrors(root, err) {
  for (const el of root.querySelectorAll('[data-error]')) el.textContent = '';
  let placed = false;
  for (const [k, msg] of Object.entries((err && err.fields) || {})) {
    const el = root.querySelector(`[data-error="${k}"]`) || root.querySelector(`[data-error="${k.replace(/^brief\./, '')}"]`);
    if (el) { el.textContent = msg; placed = true; }
  }
  return placed;
}

/** A calm, specific message for a failed API call: [title, text, actionsHtml]. */
function explain(err, { charged = false } = {}) {
  if (!(err instanceof ApiError)) {
    return ['The connection dropped.', charged
      ? 'ClipLoop may not have answered. Press Generate again: the same request is sent, so you are never charged twice.'
      : 'Check your connection and try again.', ''];
  }
  const d = err.details || {};
  switch (err.code) {
    case 'insufficient_credits':
      return [`Not enough ${d.kind || ''} credits.`.replace('  ', ' '),
        `${err.message}. Nothing was charged.`,
        '<a class="button small" href="/pricing">Pro: more credits each month</a> <a class="button secondary small" href="/dashboard/settings">Plan and credits</a>'];
    case 'too_many_requests': // this account's own AI requests still running (per-user limit)
      return ['Your other AI requests are still running.', `${err.message}. Nothing was charged.`, ''];
    case 'llm_rate_limited':
      return ['The AI provider is busy right now.', `${charged ? 'Your generation credit was refunded. ' : ''}Wait a few seconds and try again.`, ''];
    case 'llm_timeout':
      return ['The AI provider took too long to answer.', `${charged ? 'Your generation credit was refunded. ' : ''}Try again; a shorter prompt can help.`, ''];
    case 'llm_unavailable': case 'llm_failed': case 'llm_auth_failed':
      return ['The AI provider could not write this promo.', `${err.message}. ${charged ? 'Your generation credit was refunded. ' : ''}Try again in a moment.`, ''];
    case 'generation_rejected':
      return ['The AI answer was not usable.', `${err.message}. ${charged ? 'Your generation credit was refunded. ' : ''}Rephrase the prompt or edit the brief and try again.`, ''];
    case 'request_already_failed':
      return ['That attempt failed earlier and was refunded.', 'Press Generate to start a fresh attempt.', ''];
    case 'validation_failed':
      return ['Some fields need a look.', err.message, ''];
    case 'database_unavailable':
      return ['ClipLoop is briefly unavailable.', 'Nothing was lost. Try again in a few seconds.', ''];
    default: {
      const [title, text] = friendlyError(err, 'write this promo');
      return [title, `${text}${charged && err.status >= 500 ? ' If anything was charged, it is refunded automatically.' : ''}`, ''];
    }
  }
}

/* ---------------------------------------------------------------------- */
/* The result of one content item                                          */
/* ---------------------------------------------------------------------- */

function receiptLine(r) {
  const what = r.reason === 'refund' ? `Refund · ${receiptLabel(r)}` : receiptLabel(r);
  return `<div class="receipt"><span>${esc(what)}<span class="muted"> · ${esc(fmtDate(r.created_at))}</span></span>
    <span class="${r.amount < 0 ? 'neg' : 'pos'}">${r.amount > 0 ? '+' : ''}${r.amount} ${esc(r.kind)}</span></div>`;
}

function resultHtml(item, receipts) {
  const video = item.assets.find((a) => a.kind === 'video');
  const thumb = item.assets.find((a) => a.kind === 'thumbnail');
  const d = item.draft || {};
  const tags = (d.hashtags || []).join(' ');
  const last = receipts.length ? receipts[receipts.length - 1].balances_after : null;
  return `<div class="result">
    <div>${video
      ? `<video controls playsinline preload="metadata" src="${esc(video.url)}"${thumb ? ` poster="${esc(thumb.url)}"` : ''} data-testid="result-video">
          <track kind="captions" srclang="en" label="Captions" src="/api/content-items/${item.id}/captions.vtt" default></video>`
      : '<div class="tile-media no-preview">No preview</div>'}</div>
    <div class="stack">
      <div class="row"><h2>${esc(item.title || 'Your promo')}</h2>${statusBadge(item.status)}</div>
      <dl>
        <dt>Channel</dt><dd data-testid="result-channel">${esc(channelLabel(item.channel))}</dd>
        ${d.hook ? `<dt>Hook</dt><dd>${esc(d.hook)}</dd>` : ''}
        <dt>Caption</dt><dd data-testid="result-caption">${esc(d.caption || '')}${tags ? `<div class="small muted">${esc(tags)}</div>` : ''}</dd>
        <dt>Call to action</dt><dd data-testid="result-cta">${esc(d.cta || '')}</dd>
      </dl>
      <div><h3 class="section-title mb-xs">Tracking link</h3>${trackingSlot(item.id)}</div>
      ${resultActions(item)}
      ${video ? `<div class="cluster">
        <a class="button" href="${esc(video.download_url)}" download data-testid="download-mp4">Download MP4</a>
        ${thumb ? `<a class="button secondary" href="${esc(thumb.download_url)}" download data-testid="download-thumb">Download thumbnail</a>` : ''}
        <span class="small muted">${(video.bytes / 1e6).toFixed(1)} MB</span></div>` : ''}
      ${receipts.length ? `<div data-testid="receipts"><h3 class="section-title mb-xs">Receipts</h3>${receipts.map(receiptLine).join('')}
        ${last ? `<p class="small muted mt-xs">Balance after: ${credits(last.generation, 'generation')} · ${credits(last.render, 'render')}</p>` : ''}</div>` : ''}
    </div></div>`;
}

/* What a user does with a result: copy the words, fix them, or delete it. */
function resultActions(item) {
  const locked = ['rendering'].includes(item.status) || ['scheduled', 'publishing', 'published'].includes(item.publish_status);
  return `<div class="cluster" data-testid="result-actions">
      <button class="button secondary small" type="button" data-copy="caption">Copy caption</button>
      <button class="button secondary small" type="button" data-copy="cta">Copy call to action</button>
      ${locked ? '' : '<button class="button secondary small" type="button" data-edit>Edit words</button>'}
      ${locked || item.cycle_id ? '' : '<button class="button secondary small danger" type="button" data-delete-item>Delete…</button>'}
    </div>
    <p class="small muted" role="status" aria-live="polite" data-action-status></p>
    ${locked ? '' : `<form class="cluster" data-template-form hidden>
      <label class="small" for="template-${item.id}">Video template</label>
      <select class="input fit-content" id="template-${item.id}" name="template" data-testid="template-select"></select>
      <button class="button secondary small" type="submit" data-testid="template-switch">Switch and render again (1 render credit)</button>
    </form>`}
    <form class="stack" data-edit-form hidden>
      <div class="field"><label for="edit-caption-${item.id}">Caption</label>
        <textarea class="input" id="edit-caption-${item.id}" name="caption" rows="4"></textarea>
        <span class="field-error" data-error="caption"></span></div>
      <div class="field"><label for="edit-cta-${item.id}">Call to action</label>
        <input class="input" id="edit-cta-${item.id}" name="cta" maxlength="120">
        <span class="field-error" data-error="cta"></span></div>
      <p class="small muted">Checked against the ${esc(channelLabel(item.channel))} rules. Free — a new render of the video costs 1 render credit.</p>
      <div class="cluster"><button class="button small" type="submit">Save words</button>
        <button class="button secondary small" type="button" data-edit-cancel>Cancel</button></div>
    </form>`;
}

/* The caption as posted: the text, then its hashtags unless the text already has them. */
function captionText(d) {
  const tags = (d.hashtags || []).filter((t) => !(d.caption || '').includes(t));
  return tags.length ? `${d.caption || ''}\n\n${tags.join(' ')}` : (d.caption || '');
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (permissions, insecure origin): the old way.
    const t = document.createElement('textarea');
    t.value = text;
    t.setAttribute('readonly', '');
    t.style.position = 'fixed';
    t.style.opacity = '0';
    document.body.append(t);
    t.select();
    const ok = document.execCommand('copy');
    t.remove();
    return ok;
  }
}

/* Wire the result's actions; redraw() reloads the item after a change. */
function bindResultActions(box, item, { redraw, onEdited }) {
  const status = box.querySelector('[data-action-status]');
  const say = (text) => { if (status) status.textContent = text; };
  const d = item.draft || {};
  box.querySelectorAll('[data-copy]').forEach((b) => b.addEventListener('click', async () => {
    const what = b.dataset.copy;
    const text = what === 'caption' ? captionText(d) : (d.cta || '');
    say(await copyText(text) ? `${what === 'caption' ? 'Caption' : 'Call to action'} copied.` : 'Could not copy: select the text and copy it by hand.');
  }));
  const form = box.querySelector('[data-edit-form]');
  box.querySelector('[data-edit]')?.addEventListener('click', () => {
    form.elements.caption.value = d.caption || '';
    form.elements.cta.value = d.cta || '';
    form.hidden = false;
    form.elements.caption.focus();
  });
  box.querySelector('[data-edit-cancel]')?.addEventListener('click', () => { form.hidden = true; showFieldErrors(form, null); });
  form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showFieldErrors(form, null);
    const body = {};
    if (form.elements.caption.value.trim() !== (d.caption || '')) body.caption = form.elements.caption.value.trim();
    if (form.elements.cta.value.trim() !== (d.cta || '')) body.cta = form.elements.cta.value.trim();
    if (!Object.keys(body).length) { form.hidden = true; return; }
    try {
      await api(`/api/content-items/${item.id}`, { method: 'PATCH', body });
      onEdited();
      redraw();
    } catch (e) {
      if (!showFieldErrors(form, e)) say(friendlyError(e, 'save the words').join(' '));
    }
  });
  const del = box.querySelector('[data-delete-item]');
  del?.addEventListener('click', () => {
    // Ask in place: delete for good, or keep it.
    del.outerHTML = `<span class="cluster" data-confirm-delete><span class="small">Delete this output and its video for good?</span>
      <button class="button small danger" type="button" data-delete-yes>Delete for good</button>
      <button class="button secondary small" type="button" data-delete-no>Keep it</button></span>`;
    box.querySelector('[data-delete-no]').addEventListener('click', () => redraw());
    box.querySelector('[data-delete-yes]').addEventListener('click', async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        await api(`/api/content-items/${item.id}`, { method: 'DELETE' });
        box.innerHTML = emptyState('Deleted.', 'The output and its files are gone. Your receipts stay in Settings.',
          '<a class="button" href="/app/create">Create a promo</a>');
      } catch (e) {
        say(friendlyError(e, 'delete this output').join(' ') + (e.status === 409 ? ` ${e.message}.` : ''));
        ev.currentTarget.disabled = false;
      }
    });
  });
}

/* The template switch: the templates the item's channel allows; switching
   re-renders (charged like a render, the cost on the button). */
async function hydrateTemplates(box, item, onQueued) {
  const form = box.querySelector('[data-template-form]');
  if (!form) return;
  let list;
  try {
    list = (await api(`/api/templates?channel=${encodeURIComponent(item.channel)}`)).templates.filter((t) => t.allowed);
  } catch {
    return; // the rest of the result still works; the switch stays hidden
  }
  const current = (item.draft || {}).template;
  form.elements.template.innerHTML = list.map((t) =>
    `<option value="${esc(t.id)}" ${t.id === current ? 'selected' : ''} title="${esc(t.description)}">${esc(t.label)}${t.id === current ? ' (current)' : ''}</option>`).join('');
  form.hidden = list.length < 2;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const status = box.querySelector('[data-action-status]');
    const choice = form.elements.template.value;
    if (choice === current) {
      if (status) status.textContent = 'That is the template the video already uses.';
      return;
    }
    form.querySelector('button').disabled = true;
    try {
      await api(`/api/content-items/${item.id}/template`, { method: 'POST', body: { template: choice } });
      onQueued();
    } catch (e) {
      if (status) status.textContent = friendlyError(e, 'switch the template').join(' ');
      form.querySelector('button').disabled = false;
    }
  });
}

/**
 * Show content item `id` in box: follow a running render with a progress
 * bar, then the result; a failed render says its credit was refunded and
 * offers to render again. known: receipts already in hand (from generate).
 */
async function showItem(box, id, known = []) {
  let timer = null;
  let lastDone = -1;
  let edited = false; // the words changed after the video was drawn
  const receiptsFor = async (item) => {
    // Every charge and refund of this item (generation and renders), plus what generate returned.
    let mine = [];
    try { mine = (await api(`/api/me/transactions?limit=50&content_item_id=${item.id}`)).items; } catch { /* receipts are a courtesy */ }
    const all = new Map([...known, ...mine].map((r) => [r.id, r]));
    return [...all.values()].sort((a, b) => a.id - b.id);
  };
  /* The sound of the next render (docs/audio.md): voiceover on/off and the music —
     a bundled bed, one of the project's uploaded tracks, or none. Sent with the render. */
  const soundControl = async (item) => {
    let beds = { beds: [], voiceover_available: false };
    let tracks = [];
    try { beds = await api('/api/music/beds'); } catch { /* the render still works with its defaults */ }
    try { tracks = (await api(`/api/projects/${item.project_id}/media?kind=audio&status=kept`)).media || []; } catch { /* none */ }
    const choice = item.audio || {};
    const cur = choice.music || (beds.beds.find((b) => b.default) || {}).id || 'none';
    const opt = (v, label) => `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(label)}</option>`;
    const vo = beds.voiceover_available
      ? `<label class="small"><input type="checkbox" data-vo${choice.voiceover === false ? '' : ' checked'}> Voiceover</label>` : '';
    return `<div class="row sound" data-sound>${vo}<label class="small">Music
      <select class="input" data-music aria-label="Music">${beds.beds.map((b) => opt(b.id, `${b.title} (bed)`)).join('')}
      ${tracks.map((t) => opt(`media:${t.id}`, `Your track: ${t.filename}`)).join('')}${opt('none', 'No music')}</select></label></div>`;
  };
  const soundChoice = () => {
    const body = {};
    const vo = box.querySelector('[data-vo]');
    const music = box.querySelector('[data-music]');
    if (vo) body.voiceover = vo.checked;
    if (music) body.music = music.value;
    return body;
  };
  const draw = async () => {
    let item;
    try { item = await api(`/api/content-items/${id}`); } catch (e) {
      box.innerHTML = e.status === 404
        ? emptyState('This output does not exist or is not yours.', '', '<a class="button" href="/app/create">Create a promo</a>')
        : errorBlock(e, 'load this output', '<a class="button secondary small" href="">Reload</a>');
      return;
    }
    if (item.status === 'rendering') {
      const j = item.render_job || {};
      const pct = j.progress_total > 0 ? (100 * j.progress_done) / j.progress_total : null;
      const label = pct === null ? (j.status === 'queued' ? 'Queued — waiting for a renderer…' : 'Preparing the render…')
        : `Rendering your video… ${Math.round(pct)}%`;
      if (!box.querySelector('[data-progress]')) {
        box.innerHTML = `<div class="stack" data-progress><div class="row"><h2>${esc(item.title || 'Your promo')}</h2>${statusBadge(item.status)}</div>
          <div data-bar></div><p class="small muted" data-label aria-live="polite"></p>
          <p class="small muted">Your script and caption are ready; the video takes a little while. You can leave this page — the render keeps going and the result appears on your dashboard.</p></div>`;
      }
      if (j.progress_done !== lastDone || pct === null) {
        box.querySelector('[data-bar]').innerHTML = progress(pct, 'Render progress');
        box.querySelector('[data-label]').textContent = label;
        lastDone = j.progress_done;
      }
      timer = setTimeout(draw, POLL_MS);
      return;
    }
    const receipts = await receiptsFor(item);
    let notice = '';
    if (item.status === 'render_failed') {
      const refunded = receipts.some((r) => r.reason === 'refund' && r.kind === 'render');
      notice = statusBlock('error', 'The video could not be rendered.',
        `${item.render_error || 'The renderer failed.'} ${refunded ? 'Your render credit was refunded.' : 'Your render credit is refunded automatically.'} Your script and caption are kept.`,
        '<button class="button small" type="button" data-render>Render again (1 render credit)</button>');
    } else if (item.status === 'draft') {
      notice = statusBlock('', 'The copy is ready; the video has not been rendered.', 'Render it when you are happy with the words.',
        '<button class="button small" type="button" data-render>Render video (1 render credit)</button>');
    } else if (item.status === 'rendered' && edited) {
      notice = statusBlock('warn', 'Words saved. The video still shows the earlier words.',
        'Render it again so the video says what the caption says.',
        '<button class="button small" type="button" data-render>Render again (1 render credit)</button>');
    } else if (item.status === 'rendered') {
      notice = statusBlock('ok', 'Your promo is ready.', 'Preview it, then download the MP4 and the thumbnail.');
    }
    const sound = notice.includes('data-render') ? await soundControl(item) : '';
    box.innerHTML = `<div class="stack">${notice}${sound}${resultHtml(item, receipts)}<p data-render-status></p></div>`;
    hydrateTracking(box);
    bindResultActions(box, item, { redraw: draw, onEdited: () => { edited = item.status === 'rendered'; } });
    hydrateTemplates(box, item, () => { lastDone = -1; edited = false; draw(); });
    box.querySelector('[data-render]')?.addEventListener('click', async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        await api(`/api/content-items/${id}/render`, { method: 'POST', body: soundChoice() });
        lastDone = -1;
        edited = false;
        draw();
      } catch (e) {
        const [t, x, a] = explain(e);
        box.querySelector('[data-render-status]').outerHTML = statusBlock('error', t, x, a);
        ev.target.disabled = false;
      }
    });
  };
  box.innerHTML = skeleton(3);
  await draw();
  return () => clearTimeout(timer);
}

/* ---------------------------------------------------------------------- */
/* The flow                                                                */
/* ---------------------------------------------------------------------- */

function stepCard(n, id, title, body, hidden = true) {
  return `<section class="card stack step" id="${id}"${hidden ? ' hidden' : ''} aria-labelledby="${id}-h">
    <div class="step-head"><span class="step-num">${n}</span><div class="step-title"><h2 id="${id}-h">${esc(title)}</h2>
      <p class="step-summary small muted" data-summary></p></div>
      <button class="button secondary small step-edit" type="button" data-edit aria-controls="${id}-body" aria-expanded="true"
        aria-label="Edit: ${esc(title)}">Edit</button></div>
    <div class="stack step-body" id="${id}-body">${body}</div></section>`;
}

/* A completed step folds to its heading and a one-line summary; "Edit" opens it again. */
function collapseStep(section, summary) {
  section.querySelector('[data-summary]').textContent = summary;
  section.classList.add('step-collapsed');
  const edit = section.querySelector('[data-edit]');
  edit.setAttribute('aria-expanded', 'false');
  edit.textContent = 'Edit';
}
function bindStepEdit(section) {
  const button = section.querySelector('[data-edit]');
  button.addEventListener('click', () => {
    const open = section.classList.toggle('step-collapsed');
    button.setAttribute('aria-expanded', String(!open));
    button.textContent = open ? 'Edit' : 'Done';
  });
}

/* The limits the server checks (GET with the brief), shown beside the inputs. */
function durationRange(limits, channel) {
  const d = limits?.duration_seconds?.[channel];
  return d ? [d.min, d.max] : [5, 90];
}
function durationHint(limits, channel) {
  const [min, max] = durationRange(limits, channel);
  const label = (CHANNELS.find(([v]) => v === channel) || [, channel])[1];
  return `${min}–${max} seconds on ${label}.`;
}

function briefFields(b, limits) {
  const max = (k, def) => `maxlength="${limits?.fields?.[k]?.max_chars ?? def}"`;
  const [dmin, dmax] = durationRange(limits, b.channel);
  return `<div class="grid-2">
      ${field('title', 'Title', b.title, { attrs: `${max('title', 120)} required` })}
      ${channelField('channel', b.channel)}
      ${field('tone', 'Tone', b.tone, { attrs: max('tone', 120) })}
      ${field('duration_seconds', 'Duration (seconds)', b.duration_seconds, { type: 'number', attrs: `min="${dmin}" max="${dmax}" step="1" inputmode="numeric" data-duration`, hint: durationHint(limits, b.channel) })}
      ${field('style', 'Visual style', b.style, { attrs: max('style', 200) })}
      ${field('cta', 'Call to action', b.cta, { attrs: `${max('cta', 120)} required`, hint: 'Used word for word in the caption and the video.' })}
    </div>
    ${field('caption_hint', 'Caption hint', b.caption_hint, { textarea: true, attrs: max('caption_hint', 300) })}
    ${b.audience || b.offer ? `<p class="small muted">Written for <strong>${esc(b.audience || 'your audience')}</strong>${b.offer ? ` · offer: <strong>${esc(b.offer)}</strong>` : ''}.</p>` : ''}
    <p class="small muted">Change anything. Nothing is charged until you press Generate.</p>`;
}

/* Keep the duration's range and hint in step with the chosen channel. */
function bindBriefLimits(form, limits) {
  form.elements.channel?.addEventListener('change', (e) => {
    const input = form.querySelector('[data-duration]');
    const [min, max] = durationRange(limits, e.target.value);
    input.min = String(min);
    input.max = String(max);
    const hint = form.querySelector(`#${input.id}-hint`);
    if (hint) hint.textContent = durationHint(limits, e.target.value);
  });
}

/** Render /app/create into view (see app.js for ctx). */
export async function renderCreate(view, ctx) {
  const itemId = ctx.params.get('item');
  if (itemId) {
    ctx.setTitle('Your promo', 'Preview, download and see what it cost');
    ctx.actions.innerHTML = '<a class="button secondary" href="/app/create">Create another</a>';
    view.innerHTML = '<section class="card" id="step-result"></section>';
    await showItem(view.querySelector('#step-result'), itemId);
    return;
  }
  ctx.setTitle('Create', 'From one sentence to a finished promo video');
  view.innerHTML = `<div class="card">${skeleton(4)}</div>`;
  let projects;
  try { projects = (await api('/api/projects')).projects.filter((p) => p.status === 'active'); } catch (e) {
    view.innerHTML = errorBlock(e, 'load your projects', '<a class="button secondary small" href="">Reload</a>');
    return;
  }
  if (!projects.length) {
    view.innerHTML = `<section class="card">${emptyState('Set up your business first.',
      'ClipLoop writes in your voice from your business profile. It takes two minutes.',
      '<a class="button" href="/app/onboarding">Set up a project</a>')}</section>`;
    return;
  }
  const wanted = Number(ctx.params.get('project'));
  let project = projects.find((p) => p.id === wanted) || projects[0];

  view.classList.add('flow');
  view.innerHTML = `
    ${stepCard(1, 'step-prompt', 'Describe the promotion', `
      <form class="stack" data-prompt novalidate>
        ${projects.length > 1
          ? `<div class="field"><label for="f-project">Project</label><select class="input" id="f-project" name="project_id">${projects.map((p) => `<option value="${p.id}"${p.id === project.id ? ' selected' : ''}>${esc(p.name)}</option>`).join('')}</select></div>`
          : `<p class="small muted">For <strong>${esc(project.name)}</strong></p>`}
        ${field('prompt', 'What do you want to promote?', '', { textarea: true, rows: 3, attrs: 'maxlength="2000" required placeholder="Half-price jollof trays this weekend, order on WhatsApp"' })}
        ${channelField('channel', '', { auto: true })}
        <div class="cluster"><button class="button" type="submit" data-upgrade>Write the brief</button>
          <span class="small muted">Free — the brief uses no credits.</span></div>
        <div data-status></div>
      </form>`, false)}
    ${stepCard(2, 'step-brief', 'Check the brief', '<form class="stack" data-brief novalidate></form>')}
    ${stepCard(3, 'step-generate', 'Cost and generate', `
      <div data-cost>${skeleton(3)}</div>
      <label class="chip fit-content"><input type="checkbox" data-with-render checked> Render the video</label>
      <p class="small muted">Credits are taken when you press Generate. If writing or rendering fails, they are given back
        automatically as a refund in your ledger. Pressing twice, or retrying after a dropped connection, never charges twice.</p>
      <div class="cluster"><button class="button" type="button" data-generate disabled>Generate</button></div>
      <div data-gen-status></div>`)}
    ${stepCard(4, 'step-result', 'Your promo', '<div data-result></div>')}`;

  const promptForm = view.querySelector('[data-prompt]');
  const briefForm = view.querySelector('[data-brief]');
  const stepBrief = view.querySelector('#step-brief');
  const stepGen = view.querySelector('#step-generate');
  const stepResult = view.querySelector('#step-result');
  const costEl = view.querySelector('[data-cost]');
  const genButton = view.querySelector('[data-generate]');
  const genStatus = view.querySelector('[data-gen-status]');
  const withRender = view.querySelector('[data-with-render]');
  let brief = null;
  let intent = null; // { id, key } of the Generate click being retried
  let busy = false;
  let cost = null;

  for (const sec of view.querySelectorAll('.step')) bindStepEdit(sec);

  promptForm.elements.project_id?.addEventListener('change', (e) => {
    project = projects.find((p) => String(p.id) === e.target.value) || project;
  });

  /* Step 1 → 2 */
  promptForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const status = promptForm.querySelector('[data-status]');
    status.innerHTML = '';
    showFieldErrors(promptForm, null);
    const prompt = promptForm.elements.prompt.value.trim();
    if (!prompt) { showFieldErrors(promptForm, { fields: { prompt: 'Say in a sentence what you want to promote.' } }); return; }
    const button = promptForm.querySelector('[data-upgrade]');
    button.disabled = true;
    button.textContent = 'Writing the brief…';
    try {
      const body = { project_id: project.id, prompt };
      if (promptForm.elements.channel.value) body.channel = promptForm.elements.channel.value;
      const answer = await api('/api/create/brief', { method: 'POST', body });
      brief = answer.brief;
      briefForm.innerHTML = briefFields(brief, answer.limits);
      bindBriefLimits(briefForm, answer.limits);
      stepBrief.hidden = false;
      stepGen.hidden = false;
      view.querySelector('#step-prompt').classList.add('step-done');
      collapseStep(view.querySelector('#step-prompt'), `“${prompt}”${projects.length > 1 ? ` · ${project.name}` : ''}`);
      button.textContent = 'Rewrite the brief';
      button.classList.add('secondary'); // Generate is the main action now
      loadCost();
      // Focus the step's heading, not a text field: on a phone a focused
      // field opens the keyboard over the brief the user has not read yet.
      const heading = stepBrief.querySelector('h2');
      heading?.setAttribute('tabindex', '-1');
      heading?.focus({ preventScroll: false });
    } catch (e) {
      button.textContent = brief ? 'Rewrite the brief' : 'Write the brief';
      if (!showFieldErrors(promptForm, e)) {
        const [t, x, a] = explain(e);
        status.innerHTML = statusBlock('error', t, x, a);
      }
    } finally {
      button.disabled = false;
    }
  });

  /** The brief as edited (unedited keys such as audience and offer kept). */
  const editedBrief = () => {
    const f = briefForm.elements;
    const out = { ...brief };
    for (const k of ['title', 'channel', 'tone', 'style', 'cta', 'caption_hint']) out[k] = f[k].value.trim();
    const d = Number(f.duration_seconds.value);
    if (Number.isFinite(d) && d > 0) out.duration_seconds = Math.round(d);
    return out;
  };

  /* Step 3: cost before charge */
  async function loadCost() {
    genButton.disabled = true;
    costEl.innerHTML = skeleton(3);
    try {
      cost = await api(`/api/create/cost?render=${withRender.checked ? 1 : 0}`);
    } catch (e) {
      costEl.innerHTML = errorBlock(e, 'read what this costs');
      return;
    }
    const lines = cost.items.map((i) => `<li><span>${esc(KIND_LABEL[i.kind] || i.label)}</span><span>${credits(i.cost, i.kind)}</span></li>`);
    lines.push(`<li><span>You have</span><span data-testid="balance">${credits(cost.balances.generation, 'generation')} · ${credits(cost.balances.render, 'render')}</span></li>`);
    let short = '';
    if (!cost.affordable) {
      const gap = ['generation', 'render'].filter((k) => cost.total[k] > cost.balances[k]);
      const copyOnly = withRender.checked && !gap.includes('generation');
      short = statusBlock('warn', `Not enough ${gap.join(' and ')} credits for this.`,
        `It needs ${gap.map((k) => credits(cost.total[k], k)).join(' and ')}; you have ${gap.map((k) => cost.balances[k]).join(' and ')}. Nothing has been charged.`,
        `${copyOnly ? '<button class="button small" type="button" data-copy-only>Write the copy only</button>' : ''}<a class="button secondary small" href="/pricing">Pro: more credits each month</a> <a class="button secondary small" href="/dashboard/settings">Plan and credits</a>`);
    }
    costEl.innerHTML = `<ul class="cost-lines" data-testid="cost">${lines.join('')}</ul>${short}`;
    costEl.querySelector('[data-copy-only]')?.addEventListener('click', () => { withRender.checked = false; loadCost(); });
    genButton.disabled = !cost.affordable || busy;
  }
  withRender.addEventListener('change', loadCost);

  /* Generate: one billable action, idempotent per intent */
  genButton.addEventListener('click', async () => {
    if (busy || !brief) return;
    busy = true;
    genButton.disabled = true;
    genButton.textContent = 'Generating…';
    genStatus.innerHTML = '';
    showFieldErrors(briefForm, null);
    const body = { project_id: project.id, brief: editedBrief(), render: withRender.checked };
    body.channel = body.brief.channel;
    const key = JSON.stringify(body);
    if (!intent || intent.key !== key) intent = { id: newRequestId(), key };
    let r;
    try {
      r = await api('/api/create/generate', { method: 'POST', body: { ...body, request_id: intent.id } });
    } catch (e) {
      // Keep the id only when the server may have charged and not settled:
      // a dropped connection or an internal error. Everything else was
      // either never charged (402, 422) or refunded (LLM errors).
      const retrySame = !(e instanceof ApiError) || (e.status >= 500 && e.code === 'internal');
      if (!retrySame) intent = null;
      const [t, x, a] = explain(e, { charged: true });
      if (!showFieldErrors(briefForm, e)) genStatus.innerHTML = statusBlock('error', t, x, a);
      genButton.textContent = retrySame ? 'Try again' : 'Generate';
      busy = false;
      if (e.code === 'insufficient_credits') loadCost(); else genButton.disabled = false;
      return;
    }
    intent = null;
    history.replaceState(null, '', `/app/create?item=${r.content_item_id}`);
    genButton.textContent = 'Generated';
    for (const el of [promptForm, briefForm]) for (const c of el.elements) c.disabled = true;
    withRender.disabled = true;
    stepBrief.classList.add('step-done');
    stepGen.classList.add('step-done');
    const eb = editedBrief();
    collapseStep(stepBrief, [eb.title, channelLabel(eb.channel), eb.duration_seconds ? `${eb.duration_seconds} s` : '', eb.cta].filter(Boolean).join(' · '));
    collapseStep(stepGen, (r.replayed ? 'Already generated, nothing charged again · ' : 'Charged · ')
      + r.receipts.map((x) => `${-x.amount} ${x.kind}`).join(' + '));
    genStatus.innerHTML = statusBlock('ok', r.replayed ? 'Already generated — nothing charged again.' : 'Charged and started.',
      r.receipts.map((x) => `${receiptLabel(x)}: ${x.amount} ${x.kind}`).join(' · '));
    stepResult.hidden = false;
    ctx.actions.innerHTML = '<a class="button secondary" href="/app/create">Create another</a>';
    stepResult.scrollIntoView({ behavior: 'smooth', block: 'start' });
    await showItem(stepResult.querySelector('[data-result]'), r.content_item_id, r.receipts);
  });
}
