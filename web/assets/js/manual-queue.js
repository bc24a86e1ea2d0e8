// manual-queue.js — /dashboard/manual-queue: the items you post yourself
// (manual_export: TikTok, WhatsApp, Instagram without a connected account).
// Filters by channel and manual status, sorts by schedule or creation,
// previews the video, renders an item that has no video yet (one render
// credit, shown before it is spent), exports one item or the selected ones
// as a ZIP, and marks an item posted with an optional link.
import { api, esc } from './api.js';
import { CHANNELS, channelLabel, emptyState, fmtDate, skeleton, statusBlock } from './ui.js';

const STATUSES = [['ready_for_export', 'Ready to export'], ['exported', 'Exported'], ['posted', 'Posted']];
const STATUS_TONE = { ready_for_export: 'warn', exported: '', posted: 'ok' };
const statusLabel = (s) => (STATUSES.find((x) => x[0] === s) || [s, s])[1];

function captionOf(item) {
  const d = item.draft || {};
  const v = (d.variants || {})[item.channel] || {};
  return v.caption || d.caption || '';
}

function filtersHtml(state) {
  const opt = (list, value, all) => `<option value="">${all}</option>${list.map(([v, l]) =>
    `<option value="${v}"${v === value ? ' selected' : ''}>${esc(l)}</option>`).join('')}`;
  return `<form class="card queue-filters" data-filters aria-label="Filter the queue">
    <label class="field">Channel<select class="input" name="channel">${opt(CHANNELS, state.channel, 'All channels')}</select></label>
    <label class="field">Status<select class="input" name="status">${opt(STATUSES, state.status, 'Any status')}</select></label>
    <label class="field">Order<select class="input" name="sort">
      <option value="scheduled"${state.sort === 'scheduled' ? ' selected' : ''}>By scheduled time</option>
      <option value="created"${state.sort === 'created' ? ' selected' : ''}>Newest first</option></select></label>
  </form>`;
}

function itemHtml(it) {
  const thumb = it.thumbnail_asset_id
    ? `<img src="/api/assets/${it.thumbnail_asset_id}" width="360" height="640" alt="Thumbnail of ${esc(it.title || 'this promo')}" loading="lazy">`
    : '<div class="no-preview">No video yet</div>';
  const rendering = it.render_status === 'rendering';
  const hasVideo = Boolean(it.video_asset_id);
  const cap = captionOf(it);
  const when = it.scheduled_at ? `Planned for ${fmtDate(it.scheduled_at)}` : `Created ${fmtDate(it.created_at)}`;
  return `<li class="card queue-item" data-item="${it.id}">
    <label class="queue-select"><input type="checkbox" data-select value="${it.id}" aria-label="Select ${esc(it.title || 'item')}"></label>
    <div class="queue-thumb">${thumb}</div>
    <div class="stack queue-body">
      <div class="row"><strong>${esc(it.title || 'Untitled promo')}</strong>
        <span class="badge ${STATUS_TONE[it.manual_status] ?? ''}" data-status>${esc(statusLabel(it.manual_status))}</span></div>
      <div class="cluster small muted"><span>${esc(channelLabel(it.channel))}</span><span>·</span><span>${esc(it.project_name)}</span>
        <span>·</span><span>${esc(when)}</span></div>
      ${cap ? `<p class="queue-caption">${esc(cap.length > 180 ? cap.slice(0, 177) + '…' : cap)}</p>` : ''}
      ${it.posted_url ? `<p class="small">Posted: <a href="${esc(it.posted_url)}" rel="noopener" target="_blank">${esc(it.posted_url)}</a></p>` : ''}
      <div class="cluster">
        ${hasVideo ? `<button class="button secondary small" data-preview aria-expanded="false">Preview</button>
          <button class="button small" data-export>Export ZIP</button>`
          : rendering ? '<span class="badge warn">Rendering…</span>'
            : '<button class="button small" data-render>Render for export · 1 render credit</button>'}
        ${it.manual_status !== 'posted' ? '<button class="button secondary small" data-posted-open>Mark posted</button>' : ''}
      </div>
      <div data-preview-slot></div>
      <form class="stack" data-posted-form hidden>
        <label class="field">Link to the post <span class="muted">(optional)</span>
          <input class="input" name="posted_url" type="url" inputmode="url" placeholder="https://…"></label>
        <span class="field-error" data-error></span>
        <div class="cluster"><button class="button small" type="submit">Save as posted</button>
          <button class="button secondary small" type="button" data-posted-cancel>Cancel</button></div>
      </form>
      <div data-item-status></div>
    </div>
  </li>`;
}

/** Download a ZIP from url (fetch, so errors show calmly instead of a broken download). */
async function download(url, fallbackName) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) {
    let msg = `Export failed (${r.status})`;
    try { msg = (await r.json()).error.message; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  const blob = await r.blob();
  const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') || '')?.[1] || fallbackName;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Render the page into view (see app.js for ctx). */
export async function renderManualQueue(view, ctx) {
  ctx.setTitle('Manual queue', 'Posts you publish yourself: export, post, mark as posted');
  const state = {
    channel: ctx.params.get('channel') || '', status: ctx.params.get('status') || '', sort: ctx.params.get('sort') || 'scheduled',
  };
  ctx.actions.innerHTML = '<button class="button" data-bulk disabled>Export selected</button>';
  const bulk = ctx.actions.querySelector('[data-bulk]');
  view.innerHTML = `${filtersHtml(state)}<div data-status-slot></div><div data-list>${`<div class="card">${skeleton(3)}</div>`}</div>`;
  const list = view.querySelector('[data-list]');
  const statusSlot = view.querySelector('[data-status-slot]');
  let items = [];
  let timer = null;

  const selected = () => [...list.querySelectorAll('[data-select]:checked')].map((x) => Number(x.value));
  const updateBulk = () => {
    const n = selected().length;
    bulk.disabled = n === 0;
    bulk.textContent = n ? `Export selected (${n})` : 'Export selected';
  };

  // What the person has open survives a reload of the list (after an export,
  // a render, and every 2 s while something renders): a "Mark posted" form
  // with what was typed and where the cursor was, and a playing preview (the
  // same <video> element is moved into the new card, so it keeps playing).
  function openState() {
    const open = new Map();
    for (const li of list.querySelectorAll('[data-item]')) {
      const form = li.querySelector('[data-posted-form]');
      const video = li.querySelector('[data-preview-slot] video');
      const input = form?.querySelector('[name=posted_url]');
      if ((form && !form.hidden) || video) {
        open.set(li.dataset.item, {
          form: Boolean(form && !form.hidden), url: input?.value || '', error: form?.querySelector('[data-error]')?.textContent || '',
          focused: document.activeElement === input, caret: document.activeElement === input ? input.selectionStart : null, video,
        });
      }
    }
    return open;
  }
  function restoreOpen(open) {
    for (const [id, o] of open) {
      const li = list.querySelector(`[data-item="${id}"]`);
      const it = items.find((x) => String(x.id) === id);
      if (!li || !it) continue;
      const form = li.querySelector('[data-posted-form]');
      if (o.form && form && it.manual_status !== 'posted') {
        form.hidden = false;
        const input = form.querySelector('[name=posted_url]');
        input.value = o.url;
        form.querySelector('[data-error]').textContent = o.error;
        if (o.focused) {
          input.focus();
          if (o.caret != null) input.setSelectionRange(o.caret, o.caret);
        }
      }
      const b = li.querySelector('[data-preview]');
      if (o.video && b && it.video_asset_id && o.video.getAttribute('src') === `/api/assets/${it.video_asset_id}`) {
        li.querySelector('[data-preview-slot]').append(o.video);
        b.setAttribute('aria-expanded', 'true');
        b.textContent = 'Hide preview';
      }
    }
  }

  async function load() {
    clearTimeout(timer);
    const q = new URLSearchParams();
    for (const k of ['channel', 'status', 'sort']) if (state[k]) q.set(k, state[k]);
    history.replaceState(null, '', `${location.pathname}?${q}`);
    let data;
    try {
      data = await api(`/api/manual-queue?${q}`);
    } catch (e) {
      list.innerHTML = statusBlock('error', 'The queue could not load.', e.message, '<a class="button secondary small" href="/dashboard/manual-queue">Reload</a>');
      return;
    }
    const keep = new Set(selected());
    const open = openState();
    items = data.items;
    if (!items.length) {
      const filtered = state.channel || state.status;
      list.innerHTML = `<section class="card">${filtered
        ? emptyState('Nothing matches these filters.', 'Try another channel or status.', '<a class="button secondary" href="/dashboard/manual-queue">Show everything</a>')
        : emptyState('Nothing to post by hand yet.', 'Approve a TikTok or WhatsApp promo (or an Instagram one without a connected account) and it waits here with its video, caption and link, ready to export.', '<a class="button" href="/app/create">Create a promo</a>')}</section>`;
    } else {
      list.innerHTML = `<ul class="stack queue-list">${items.map(itemHtml).join('')}</ul>`;
      for (const cb of list.querySelectorAll('[data-select]')) cb.checked = keep.has(Number(cb.value));
      restoreOpen(open);
    }
    updateBulk();
    if (items.some((i) => i.render_status === 'rendering')) timer = setTimeout(load, 2000);
  }

  view.querySelector('[data-filters]').addEventListener('change', (ev) => {
    state[ev.target.name] = ev.target.value;
    load();
  });
  list.addEventListener('change', (ev) => { if (ev.target.matches('[data-select]')) updateBulk(); });

  bulk.addEventListener('click', async () => {
    const ids = selected();
    if (!ids.length) return;
    bulk.disabled = true;
    statusSlot.innerHTML = statusBlock('', `Preparing ${ids.length} item${ids.length === 1 ? '' : 's'}…`);
    try {
      await download(`/api/manual-queue/export?ids=${ids.join(',')}`, 'cliploop-export.zip');
      statusSlot.innerHTML = statusBlock('ok', `Exported ${ids.length} item${ids.length === 1 ? '' : 's'}.`, 'Each has its own folder with the video, caption, link and posting steps.');
      await load();
    } catch (e) {
      statusSlot.innerHTML = statusBlock('error', 'The export did not work.', e.message);
      updateBulk();
    }
  });

  list.addEventListener('click', async (ev) => {
    const li = ev.target.closest('[data-item]');
    if (!li) return;
    const id = Number(li.dataset.item);
    const it = items.find((x) => x.id === id);
    const slot = li.querySelector('[data-item-status]');
    const b = ev.target.closest('button');
    if (!b || !it) return;
    if (b.matches('[data-preview]')) {
      const s = li.querySelector('[data-preview-slot]');
      const open = b.getAttribute('aria-expanded') === 'true';
      s.innerHTML = open ? '' : `<video class="queue-video" src="/api/assets/${it.video_asset_id}" controls playsinline preload="metadata"><track kind="captions" srclang="en" label="Captions" src="/api/content-items/${it.id}/captions.vtt" default></video>`;
      b.setAttribute('aria-expanded', String(!open));
      b.textContent = open ? 'Preview' : 'Hide preview';
    } else if (b.matches('[data-export]')) {
      b.disabled = true;
      slot.innerHTML = '';
      try {
        await download(`/api/content-items/${id}/export`, `cliploop-item-${id}.zip`);
        await load();
      } catch (e) {
        slot.innerHTML = statusBlock('error', 'The export did not work.', e.message);
        b.disabled = false;
      }
    } else if (b.matches('[data-render]')) {
      b.disabled = true;
      try {
        await api(`/api/content-items/${id}/render`, { method: 'POST', body: {} });
        await load();
      } catch (e) {
        slot.innerHTML = statusBlock('error', e.status === 402 ? 'Not enough render credits.' : 'The render could not start.', e.message,
          e.status === 402 ? '<a class="button secondary small" href="/dashboard/settings">See your credits</a>' : '');
        b.disabled = false;
      }
    } else if (b.matches('[data-posted-open]')) {
      li.querySelector('[data-posted-form]').hidden = false;
      li.querySelector('[name=posted_url]').focus();
    } else if (b.matches('[data-posted-cancel]')) {
      li.querySelector('[data-posted-form]').hidden = true;
    }
  });

  list.addEventListener('submit', async (ev) => {
    const form = ev.target.closest('[data-posted-form]');
    if (!form) return;
    ev.preventDefault();
    const id = Number(form.closest('[data-item]').dataset.item);
    const url = form.posted_url.value.trim();
    form.querySelector('[data-error]').textContent = '';
    try {
      await api(`/api/content-items/${id}/mark-posted`, { method: 'POST', body: url ? { posted_url: url } : {} });
      await load();
    } catch (e) {
      form.querySelector('[data-error]').textContent = e.fields?.posted_url || e.message;
    }
  });

  await load();
}
