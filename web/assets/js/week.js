// week.js — /app/projects/:id/weeks/:cycleId: one week of one project.
// The pack of 5 posts as a board (thumbnail, hook, channel switcher,
// strategy and state badges, per-post actions), the bulk actions (render
// all, approve all, schedule Mon–Fri, run due now), the plan's remaining
// generations and regenerations, the price of every paid action before it
// is charged, and a calendar strip of the week in the project's time zone.
// "/app/projects/:id/weeks/current" opens (creates, free) this week's cycle.
import { api, esc } from './api.js';
import { CHANNELS, channelLabel, credits, emptyState, progress, statusBadge, statusBlock, thumbImg } from './ui.js';
import { trackingCount, hydrateCounts } from './tracking.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const STATE = {
  draft: ['Draft', ''], approved: ['Approved', 'ok'], scheduled: ['Scheduled', 'ok'], publishing: ['Publishing', 'warn'],
  published: ['Published', 'ok'], failed: ['Failed', 'error'], skipped: ['Replaced', ''],
};
const ANGLES = {
  offer: 'Offer', product: 'Product up close', social_proof: 'Social proof', behind_the_scenes: 'Behind the scenes',
  last_call: 'Last call',
};

const rid = () => (crypto.randomUUID ? crypto.randomUUID() : `r-${Date.now()}-${Math.random().toString(36).slice(2)}`);
const addDays = (iso, n) => new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
const dayLabel = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

function stateBadge(s) {
  const [label, tone] = STATE[s] || [s, ''];
  return `<span class="badge ${tone}" data-state="${esc(s)}">${esc(label)}</span>`;
}

function strategyBadge(item) {
  return item.publish_strategy === 'direct_instagram'
    ? '<span class="badge" title="Published to Instagram by ClipLoop">Direct · Instagram</span>'
    : `<span class="badge" title="You post it yourself from the manual queue">Manual export${item.manual_status ? ` · ${esc(item.manual_status.replace(/_/g, ' '))}` : ''}</span>`;
}

function thumb(item) {
  const img = thumbImg(item, '96px');
  if (img) return `<div class="tile-media">${img}</div>`;
  if (item.status === 'rendering') {
    const j = item.render_job || {};
    const pct = j.progress_total ? (100 * j.progress_done) / j.progress_total : null;
    return `<div class="tile-media no-preview"><span>Rendering…</span>${progress(pct, 'Render progress')}</div>`;
  }
  return `<div class="tile-media no-preview"><svg width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6" aria-hidden="true"><rect x="4" y="3" width="16" height="18" rx="2"/><path d="M10 9l5 3-5 3z"/></svg>${item.status === 'render_failed' ? 'Render failed' : 'Not rendered'}</div>`;
}

/* The strip: Mon..Sun of the cycle with what is scheduled each day (project's zone). */
function calendarStrip(w) {
  const start = w.cycle.week_start;
  const cells = DAYS.map((d, i) => {
    const date = addDays(start, i);
    const posts = w.items.filter((it) => (it.scheduled_local || it.published_local || '').slice(0, 10) === date)
      .sort((a, b) => (a.scheduled_local || '').localeCompare(b.scheduled_local || ''));
    const list = posts.map((it) => `<li><span class="strong">${esc((it.scheduled_local || it.published_local).slice(11, 16))}</span>
      ${esc(channelLabel(it.channel))} · ${esc(it.title)}</li>`).join('');
    return `<div class="day${date === w.cycle.today ? ' today' : ''}" data-day="${date}">
      <div class="day-head"><span>${d}</span><span class="muted">${esc(dayLabel(date))}</span></div>
      ${list ? `<ul class="day-posts">${list}</ul>` : '<span class="small muted">Nothing scheduled</span>'}</div>`;
  }).join('');
  return `<section class="card stack" aria-labelledby="cal-h"><div class="row"><h2 id="cal-h">This week's calendar</h2>
    <span class="small muted">Times in ${esc(w.cycle.timezone)}</span></div><div class="week-strip" role="region" aria-label="Days of the week (scrolls sideways)" tabindex="0">${cells}</div></section>`;
}

function limitsCard(w) {
  const l = w.limits, b = w.balances || {};
  const pw = l.posts_per_week, rw = l.regenerations_per_week, rm = l.renders_per_month;
  return `<section class="card" aria-label="Plan and credits"><div class="stat-row">
    <div class="stat"><span class="stat-value" data-testid="posts-left">${pw.remaining ?? '∞'}</span><span class="small muted">of ${pw.limit ?? '∞'} posts left to generate this week</span></div>
    <div class="stat"><span class="stat-value" data-testid="regens-left">${rw.remaining ?? '∞'}</span><span class="small muted">of ${rw.limit ?? '∞'} regenerations left this week</span></div>
    <div class="stat"><span class="stat-value">${rm.remaining ?? '∞'}</span><span class="small muted">renders left this month</span></div>
    <div class="stat"><span class="stat-value">${b.generation ?? '–'} / ${b.render ?? '–'}</span><span class="small muted">generation / render credits</span></div>
  </div></section>`;
}

function emptyPack(w) {
  const cost = w.costs.generate_posts.cost, have = w.balances?.generation ?? 0, left = w.limits.posts_per_week.remaining;
  const blocked = have < cost ? `You have ${credits(have, 'generation')}; this needs ${cost}.`
    : left !== null && left < 5 ? `Your plan's 5 posts for this week are used (${left} left); the next week opens on Monday.` : '';
  return `<section class="card stack" aria-labelledby="gen-h" data-empty-pack>
    ${emptyState("No posts for this week yet.", 'ClipLoop plans 5 posts from your business profile: an offer, the product up close, social proof, behind the scenes and a last call, spread over your channels.')}
    <form class="stack" data-generate>
      <label class="field">This week's focus <span class="field-hint">Optional: a deal, a launch, a date. In your words.</span>
        <textarea class="input" name="brief" rows="2" maxlength="1000" placeholder="e.g. Free delivery on birthday cakes this weekend">${esc(w.cycle.brief || '')}</textarea></label>
      <div class="cluster"><button class="button" type="submit" id="gen-h" ${blocked ? 'disabled' : ''}>Generate this week's pack</button>
        <span class="small muted" data-cost>Costs ${credits(cost, 'generation')} · you have ${have}</span></div>
      ${blocked ? statusBlock('warn', 'Not available right now', blocked) : ''}
      <div data-gen-status></div>
    </form></section>`;
}

function toolbar(w) {
  const renderable = w.items.filter((i) => i.status === 'draft' || i.status === 'render_failed').length;
  const approvable = w.items.filter((i) => i.status === 'rendered' && i.publish_status === 'draft').length;
  const schedulable = w.items.filter((i) => i.publish_status === 'approved' && i.publish_strategy === 'direct_instagram').length;
  const rc = w.costs.render.cost * renderable;
  return `<section class="card stack" aria-label="Actions for the whole week"><div class="cluster">
    <button class="button" data-bulk="render-all" ${renderable ? '' : 'disabled'}>Render all${renderable ? ` · ${credits(rc, 'render')}` : ''}</button>
    <button class="button secondary" data-bulk="approve-all" ${approvable ? '' : 'disabled'}>Approve all rendered${approvable ? ` (${approvable})` : ''}</button>
    <span class="cluster"><label class="small muted" for="bulk-time">Mon–Fri at</label>
      <input class="input compact" type="time" id="bulk-time" value="18:00">
      <button class="button secondary" data-bulk="schedule" ${schedulable ? '' : 'disabled'}>Schedule${schedulable ? ` (${schedulable})` : ''}</button></span>
    <button class="button secondary" data-bulk="run-due">Run due posts now</button>
    ${w.limits.posts_per_week.remaining !== null && w.limits.posts_per_week.remaining < 5
    ? `<span class="small muted">New pack: your plan's posts for this week are used</span>`
    : `<button class="link small" data-bulk="replace">New pack · ${credits(w.costs.generate_posts.cost, 'generation')}</button>`}
  </div><div data-bulk-status></div></section>`;
}

function postCard(item, w) {
  const d = item.draft || {};
  const regen = w.costs.regenerate.cost;
  const editable = ['draft', 'approved', 'failed'].includes(item.publish_status);
  const acts = [];
  if (item.status === 'draft' || item.status === 'render_failed') acts.push(`<button class="button small" data-act="render">Render · ${credits(w.costs.render.cost, 'render')}</button>`);
  if (item.publish_status === 'draft' && item.status === 'rendered') acts.push('<button class="button small" data-act="approve">Approve</button>');
  if (item.publish_status === 'approved') acts.push('<button class="button secondary small" data-act="unapprove">Unapprove</button>');
  if (item.publish_status === 'scheduled') acts.push('<button class="button secondary small" data-act="unschedule">Unschedule</button>');
  if (['draft', 'approved', 'failed'].includes(item.publish_status)) acts.push(`<button class="link small" data-act="regenerate">Regenerate · ${credits(regen, 'generation')}</button>`);
  const schedule = (item.publish_status === 'approved' || item.publish_status === 'failed') && item.publish_strategy === 'direct_instagram'
    ? `<form class="cluster" data-schedule><label class="visually-hidden" for="at-${item.id}">Publish at</label>
        <input class="input compact" type="datetime-local" id="at-${item.id}" name="at" min="${esc(w.cycle.today)}T00:00" value="${esc(defaultSlot(item, w))}">
        <button class="button small" type="submit">Schedule</button></form>` : '';
  return `<article class="card post-card stack" data-item="${item.id}" aria-label="Post ${item.position}: ${esc(item.title)}">
    <div class="post-top">${thumb(item)}<div class="stack tight">
      <div class="small muted">Post ${item.position}${d.angle ? ` · ${esc(ANGLES[d.angle] || d.angle)}` : ''}</div>
      <h3 class="post-hook">${esc(d.hook || item.title)}</h3>
      <p class="small post-caption">${esc(d.caption || '')}</p>
      <p class="small"><span class="muted">CTA:</span> ${esc(d.cta || '')}</p></div></div>
    <div class="cluster">${stateBadge(item.publish_status)} ${statusBadge(item.status)} ${strategyBadge(item)}
      ${item.scheduled_local ? `<span class="badge">${esc(item.scheduled_local.replace('T', ' '))}</span>` : ''}</div>
    ${trackingCount(item.id)}
    ${item.publish_error ? statusBlock('error', 'Not published', item.publish_error === 'no_publisher' ? 'No publisher is set up for this post yet.' : item.publish_error) : ''}
    <label class="field small">Channel <select class="input compact" data-channel ${editable ? '' : 'disabled'}>
      ${CHANNELS.map(([v, l]) => `<option value="${v}"${v === item.channel ? ' selected' : ''}>${l}</option>`).join('')}</select></label>
    ${schedule}
    <div class="cluster">${acts.join('')}</div>
    <div data-item-status></div></article>`;
}

/* The item's day in the week (Mon..Fri by position) at 18:00, or tomorrow. */
function defaultSlot(item, w) {
  if (item.scheduled_local) return item.scheduled_local;
  let day = addDays(w.cycle.week_start, Math.min(4, (item.position || 1) - 1));
  if (day <= w.cycle.today) day = addDays(w.cycle.today, 1);
  return `${day}T18:00`;
}

function weekNav(w, projectId) {
  return `<nav class="row" aria-label="Weeks"><a class="small" href="/app/projects/${projectId}">← ${esc('Project')}</a>
    <span class="cluster"><button class="button secondary small" data-week="-7">Previous week</button>
    <button class="button secondary small" data-week="7">Next week</button></span></nav>`;
}

function render(view, w, projectId) {
  const busy = w.cycle.pack_status === 'generating';
  view.innerHTML = `${weekNav(w, projectId)}${limitsCard(w)}
    ${w.items.length ? toolbar(w) : emptyPack(w)}
    ${busy ? statusBlock('warn', 'The pack is being generated…') : ''}
    ${w.items.length ? `<section aria-label="This week's posts" class="board">${w.items.map((i) => postCard(i, w)).join('')}</section>` : ''}
    ${calendarStrip(w)}`;
  hydrateCounts(view); // each post's tracking link (copy) with its clicks and sign-ups
}

function showError(el, e) {
  if (!el) return;
  let text = e.message;
  if (e.code === 'insufficient_credits') text = `Not enough ${e.details.kind} credits: this needs ${e.details.needed}, you have ${e.details.available}. Nothing was charged.`;
  el.innerHTML = statusBlock('error', e.code === 'plan_limit_reached' ? 'Plan limit reached' : 'That did not work', text);
}

/** Render the week page. */
export async function renderWeek(view, ctx, projectId, cycleId) {
  view.classList.add('week');
  let project = null;
  try { project = await api(`/api/projects/${projectId}`); } catch (e) {
    view.innerHTML = `<section class="card empty"><strong>${e.status === 404 ? 'This project does not exist or is not yours.' : esc(e.message)}</strong>
      <a class="button" href="/app/projects">All projects</a></section>`;
    return;
  }
  if (cycleId === 'current') {
    try {
      const y = await api(`/api/projects/${projectId}/strategy-cycles`, { method: 'POST', body: {} });
      cycleId = y.cycle.id;
      history.replaceState(null, '', `/app/projects/${projectId}/weeks/${cycleId}`);
    } catch (e) { view.innerHTML = statusBlock('error', 'This week could not be opened.', e.message); return; }
  }
  let w;
  let timer = null;
  let perfEl = null, perfRefresh = null, perfCount = -1;
  const load = async () => {
    clearTimeout(timer);
    try {
      w = await api(`/api/strategy-cycles/${cycleId}`);
    } catch (e) {
      view.innerHTML = e.status === 404
        ? `<section class="card empty"><strong>This week does not exist or is not yours.</strong><a class="button" href="/app/projects/${projectId}">Back to the project</a></section>`
        : statusBlock('error', 'The week could not load.', e.message);
      return;
    }
    ctx.setTitle(`Week of ${dayLabel(w.cycle.week_start)} – ${dayLabel(w.cycle.week_end)}`,
      `${project.name} · ${w.items.length ? `${w.items.length} posts` : 'no posts yet'} · ${w.cycle.timezone}`);
    render(view, w, projectId);
    // performance, analysis and next week (performance.js): mounted once, kept across re-renders
    if (!perfEl) {
      perfEl = document.createElement('section');
      perfEl.className = 'card stack';
      perfEl.setAttribute('aria-labelledby', 'perf-h');
      perfEl.dataset.weekPerformance = '';
      perfCount = w.items.length;
      import('./performance.js').then((m) => m.mountWeekPerformance(perfEl, cycleId,
        { weekHref: (id) => `/app/projects/${projectId}/weeks/${id}` })).then((refresh) => { perfRefresh = refresh; });
    } else if (perfRefresh && w.items.length !== perfCount) {
      perfCount = w.items.length; // a new pack: its posts join the numbers
      perfRefresh().catch(() => {});
    }
    view.append(perfEl);
    if (w.items.some((i) => i.status === 'rendering' || i.publish_status === 'publishing') || w.cycle.pack_status === 'generating') {
      timer = setTimeout(load, 2000);
    }
  };
  await load();
  if (!w) return;

  const run = async (button, statusEl, fn) => {
    if (button) button.disabled = true;
    if (statusEl) statusEl.innerHTML = '';
    try { await fn(); await load(); } catch (e) { if (button) button.disabled = false; showError(statusEl, e); }
  };

  view.addEventListener('submit', (ev) => {
    const gen = ev.target.closest('[data-generate]');
    const sch = ev.target.closest('[data-schedule]');
    if (gen) {
      ev.preventDefault();
      const brief = gen.querySelector('[name=brief]').value.trim();
      const st = gen.querySelector('[data-gen-status]');
      st.innerHTML = statusBlock('', 'Writing 5 posts…', 'This takes a few seconds.');
      run(gen.querySelector('button'), st, () => api(`/api/strategy-cycles/${cycleId}/generate-posts`, {
        method: 'POST', body: { request_id: rid(), ...(brief ? { brief } : {}) },
      }));
    } else if (sch) {
      ev.preventDefault();
      const card = sch.closest('[data-item]');
      run(sch.querySelector('button'), card.querySelector('[data-item-status]'), () => api(`/api/content-items/${card.dataset.item}/schedule`, {
        method: 'POST', body: { at: sch.querySelector('[name=at]').value },
      }));
    }
  });

  view.addEventListener('change', (ev) => {
    const sel = ev.target.closest('[data-channel]');
    if (!sel) return;
    const card = sel.closest('[data-item]');
    run(sel, card.querySelector('[data-item-status]'), () => api(`/api/content-items/${card.dataset.item}`, {
      method: 'PATCH', body: { channel: sel.value },
    }));
  });

  view.addEventListener('click', (ev) => {
    const nav = ev.target.closest('[data-week]');
    if (nav) {
      nav.disabled = true;
      api(`/api/projects/${projectId}/strategy-cycles`, { method: 'POST', body: { week_start: addDays(w.cycle.week_start, Number(nav.dataset.week)) } })
        .then((y) => location.assign(`/app/projects/${projectId}/weeks/${y.cycle.id}`))
        .catch((e) => { nav.disabled = false; showError(view.querySelector('[data-bulk-status]') || view.querySelector('[data-gen-status]'), e); });
      return;
    }
    const b = ev.target.closest('[data-act], [data-bulk]');
    if (!b) return;
    if (b.dataset.bulk) {
      const st = view.querySelector('[data-bulk-status]');
      const paths = { 'render-all': 'render-all', 'approve-all': 'approve-all', 'run-due': 'run-due' };
      if (b.dataset.bulk === 'schedule') {
        const time = view.querySelector('#bulk-time').value || '18:00';
        run(b, st, () => api(`/api/strategy-cycles/${cycleId}/schedule`, { method: 'POST', body: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], time } }));
      } else if (b.dataset.bulk === 'replace') {
        if (!confirm(`Replace this week's posts with a new pack? This costs ${credits(w.costs.generate_posts.cost, 'generation')}.`)) return;
        run(b, st, () => api(`/api/strategy-cycles/${cycleId}/generate-posts`, { method: 'POST', body: { request_id: rid(), replace: true } }));
      } else {
        run(b, st, () => api(`/api/strategy-cycles/${cycleId}/${paths[b.dataset.bulk]}`, { method: 'POST', body: {} }));
      }
      return;
    }
    const card = b.closest('[data-item]');
    const id = card.dataset.item;
    const st = card.querySelector('[data-item-status]');
    const act = b.dataset.act;
    if (act === 'regenerate') {
      if (!confirm(`Write a new version of this post? This costs ${credits(w.costs.regenerate.cost, 'generation')}.`)) return;
      run(b, st, () => api(`/api/content-items/${id}/regenerate`, { method: 'POST', body: { request_id: rid() } }));
    } else {
      run(b, st, () => api(`/api/content-items/${id}/${act}`, { method: 'POST', body: {} }));
    }
  });
}
