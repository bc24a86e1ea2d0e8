// performance.js — weekly performance in the studio: the week's numbers,
// scores and classes, the analysis and the learning loop's actions
// (mountWeekPerformance), the project's trend (mountProjectPerformance),
// and the page /app/performance/weeks/<cycleId> that shows one week's
// section on its own.
//
// Charts are uPlot (npm package `uplot`, copied into web/vendor/uplot by
// scripts/run and scripts/test; no CDN). Every chart is a <figure> whose
// canvas is hidden from screen readers and followed by the same numbers as
// a table (visually hidden); charts resize with their card, so they work at
// phone width. Without the library the tables are shown instead.
import { api, esc } from './api.js';
import { channelLabel, fmtAgo, credits, statusBlock, emptyState } from './ui.js';

const COLORS = { clicks: '#16161a', signups: '#3b5bdb', revenue: '#1d7a4a', winner: '#1d7a4a', neutral: '#9a9aa6', loser: '#b3261e' };
const CLASS_BADGE = { winner: 'ok', neutral: '', loser: 'error' };

let uplotLoad = null;
/** uPlot (default export), or null when web/vendor has no copy. */
function loadUPlot() {
  if (!uplotLoad) {
    if (!document.querySelector('link[data-uplot]')) {
      const l = document.createElement('link');
      l.rel = 'stylesheet';
      l.href = '/vendor/uplot/uPlot.min.css';
      l.dataset.uplot = '';
      document.head.append(l);
    }
    uplotLoad = import('/vendor/uplot/uPlot.esm.js').then((m) => m.default).catch(() => null);
  }
  return uplotLoad;
}

/** Minor units → "NGN 4,500" / "NGN 12.50". */
function money(minor, cur) {
  if (minor == null) return '—';
  const exp = ['JPY', 'KRW', 'XOF', 'XAF', 'UGX', 'RWF', 'VND', 'CLP', 'ISK'].includes(cur) ? 0
    : ['KWD', 'BHD', 'OMR', 'JOD', 'TND', 'IQD', 'LYD'].includes(cur) ? 3 : 2;
  const v = minor / 10 ** exp;
  const s = v.toLocaleString(undefined, { minimumFractionDigits: Number.isInteger(v) ? 0 : exp, maximumFractionDigits: exp });
  return cur ? `${cur} ${s}` : s;
}
const major = (minor, cur) => (minor == null ? null
  : minor / 10 ** (['JPY', 'KRW', 'XOF', 'XAF', 'UGX', 'RWF', 'VND', 'CLP', 'ISK'].includes(cur) ? 0 : ['KWD', 'BHD', 'OMR', 'JOD', 'TND', 'IQD', 'LYD'].includes(cur) ? 3 : 2));
const num = (v, digits = 0) => (v == null ? '—' : Number(v).toLocaleString(undefined, { maximumFractionDigits: digits }));
const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);
const dayTs = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;
const shortDay = (d) => new Date(`${d}T00:00:00Z`).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', timeZone: 'UTC' });
const classBadge = (c) => (c ? `<span class="badge ${CLASS_BADGE[c] ?? ''}" data-class="${esc(c)}">${esc(c)}</span>` : '<span class="badge">not rolled up</span>');

/** A figure: caption, chart slot (hidden from screen readers), and the table. */
function figure(key, caption, head, rows) {
  return `<figure class="perf-chart" data-chart="${key}">
    <figcaption class="small muted">${esc(caption)}</figcaption>
    <div class="perf-canvas" aria-hidden="true"></div>
    <table class="table visually-hidden" data-chart-table><caption>${esc(caption)}</caption>
      <thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>
      <tbody>${rows.map((r) => `<tr>${r.map((c, i) => (i ? `<td class="num">${esc(c)}</td>` : `<th scope="row">${esc(c)}</th>`)).join('')}</tr>`).join('')}</tbody>
    </table></figure>`;
}

/** Draw a uPlot chart into figure key of root; tables become visible without uPlot. */
async function draw(root, key, build) {
  const fig = root.querySelector(`[data-chart="${key}"]`);
  if (!fig) return;
  const uPlot = await loadUPlot();
  const slot = fig.querySelector('.perf-canvas');
  if (!uPlot) {
    fig.querySelector('table').classList.remove('visually-hidden');
    slot.remove();
    return;
  }
  const width = () => Math.max(260, slot.clientWidth || fig.clientWidth || 320);
  const { opts, data } = build(uPlot);
  const u = new uPlot({ width: width(), height: 220, legend: { live: false }, ...opts }, data, slot);
  slot.dataset.drawn = '1';
  if (window.ResizeObserver) new ResizeObserver(() => u.setSize({ width: width(), height: 220 })).observe(fig);
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** An axis in the studio's colours; value axes print compact numbers (1.2K, 3M). */
const axis = (extra = {}) => ({ stroke: '#5d5d66', grid: { stroke: '#eeede9' }, ticks: { stroke: '#e6e5e1' }, size: 48,
  values: (u, vals) => vals.map((v) => (v == null ? '' : compact.format(v))), ...extra });

/** Clicks, sign-ups (left) and revenue in major units (right) per day. */
function dailyChart(days, cur) {
  return (uPlot) => ({
    opts: {
      scales: { x: { time: true }, rev: { auto: true } },
      axes: [axis({ values: (u, ts) => ts.map((t) => shortDay(new Date(t * 1000).toISOString().slice(0, 10))) }),
        axis(), axis({ side: 1, scale: 'rev', grid: { show: false } })],
      series: [{},
        { label: 'Clicks', stroke: COLORS.clicks, width: 2, fill: 'rgba(22,22,26,.06)', paths: uPlot.paths.stepped({ align: 1 }) },
        { label: 'Sign-ups', stroke: COLORS.signups, width: 2, points: { size: 6 } },
        { label: `Revenue${cur ? ` (${cur})` : ''}`, stroke: COLORS.revenue, width: 2, scale: 'rev', dash: [6, 4] }],
    },
    data: [days.map((d) => dayTs(d.day)), days.map((d) => d.clicks), days.map((d) => d.signups),
      days.map((d) => major(d.revenue_scored_minor, cur))],
  });
}

/** Score per item as bars, one series per class so each has its colour. */
function scoreChart(items) {
  const xs = items.map((_, i) => i + 1);
  const by = (c) => items.map((it) => (it.class === c ? it.score : null));
  return (uPlot) => ({
    opts: {
      scales: { x: { time: false, range: [0.4, items.length + 0.6] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis({ splits: () => xs, values: (u, s) => s.map((i) => (items[i - 1] ? `#${items[i - 1].position ?? i}` : '')) }), axis()],
      series: [{}, ...['winner', 'neutral', 'loser'].map((c) => ({
        label: c[0].toUpperCase() + c.slice(1), stroke: COLORS[c], fill: COLORS[c], width: 0,
        paths: uPlot.paths.bars({ size: [0.6, 56] }), points: { show: false },
      }))],
    },
    data: [xs, by('winner'), by('neutral'), by('loser')],
  });
}

/** Clicks and sign-ups per week, revenue on the right. */
function weeksChart(weeks, cur) {
  const xs = weeks.map((_, i) => i + 1);
  return (uPlot) => ({
    opts: {
      scales: { x: { time: false, range: [0.4, weeks.length + 0.6] }, rev: { auto: true } },
      axes: [axis({ splits: () => xs, values: (u, s) => s.map((i) => (weeks[i - 1] ? shortDay(weeks[i - 1].week_start) : '')) }),
        axis(), axis({ side: 1, scale: 'rev', grid: { show: false } })],
      series: [{},
        { label: 'Clicks', stroke: COLORS.clicks, fill: 'rgba(22,22,26,.75)', width: 0, paths: uPlot.paths.bars({ size: [0.5, 48] }), points: { show: false } },
        { label: 'Sign-ups', stroke: COLORS.signups, width: 2, points: { size: 7 } },
        { label: `Revenue${cur ? ` (${cur})` : ''}`, stroke: COLORS.revenue, width: 2, scale: 'rev', dash: [6, 4], points: { size: 6 } }],
    },
    data: [xs, weeks.map((w) => w.clicks), weeks.map((w) => w.signups), weeks.map((w) => major(w.revenue_scored_minor, cur))],
  });
}

function statRow(t, cur) {
  const stat = (v, l) => `<div class="stat"><span class="stat-value">${v}</span><span class="small muted">${l}</span></div>`;
  return `<div class="stat-row">${stat(num(t.clicks), 'clicks')}${stat(num(t.signups), 'sign-ups')}${stat(esc(money(t.revenue_scored_minor, cur)), 'revenue')}${t.winners != null ? stat(num(t.winners), 'winners') : ''}</div>`;
}

/* ---- the week ---------------------------------------------------------------------- */

function itemsTable(perf) {
  const cur = perf.currency;
  const rows = perf.items.map((it) => `<tr data-perf-item="${it.id}">
    <td>#${esc(it.position ?? '')}</td>
    <td><div>${esc(it.hook || it.title || 'Untitled')}</div><div class="small muted">${esc(channelLabel(it.channel))}${it.derived_label ? ` · ${esc(it.derived_label)}` : ''}</div></td>
    <td class="num">${num(it.clicks)}</td><td class="num">${num(it.signups)}</td><td class="num">${esc(money(it.revenue_scored_minor, cur))}</td>
    <td class="num">${it.publish_strategy === 'manual_export'
      ? `<form class="cluster perf-views" data-views="${it.id}"><label class="visually-hidden" for="views-${it.id}">Views of post ${esc(it.position ?? '')}</label>
          <input id="views-${it.id}" name="views" type="number" min="0" step="1" inputmode="numeric" value="${it.views ?? ''}" placeholder="views">
          <button class="button small secondary" type="submit">Save</button></form>`
      : num(it.views)}</td>
    <td class="num">${pct(it.ctr)}</td><td class="num">${num(it.score, 1)}</td><td>${classBadge(it.class)}</td></tr>`).join('');
  return `<div class="table-wrap"><table class="table perf-items"><caption class="visually-hidden">Posts of the week with their results</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Post</th><th scope="col" class="num">Clicks</th><th scope="col" class="num">Sign-ups</th>
    <th scope="col" class="num">Revenue</th><th scope="col" class="num">Views</th><th scope="col" class="num">CTR</th><th scope="col" class="num">Score</th><th scope="col">Class</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

function analysisBlock(a, perf, week, weekHref) {
  const cost = week?.costs?.generate_posts;
  const price = cost ? credits(cost.cost, cost.kind) : '5 generation credits';
  const balance = week?.balances ? ` · you have ${week.balances.generation}` : '';
  if (!a) {
    return `<div class="stack" data-analysis>${emptyState('No analysis yet',
      perf.items.length ? 'Analysing is free: it reads this week\'s scores and proposes improved hooks for the winners and new angles for the losers.'
        : 'Generate and publish this week\'s posts first; then their results can be analysed.',
      perf.items.length ? '<button class="button" type="button" data-analyze>Analyse this week (free)</button>' : '')}</div>`;
  }
  const next = perf.cycle.next_cycle_id;
  return `<div class="stack" data-analysis>
    <h3>What worked</h3><p data-summary>${esc(a.summary)}</p>
    ${a.recommendations?.length ? `<ul class="small">${a.recommendations.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}
    <h3>Next week will try</h3>
    <ol class="list perf-plans">${(a.plans || []).map((p) => `<li><div><div>${esc(p.hook)}</div>
      <div class="small muted">${esc(channelLabel(p.channel))} · ${esc(p.label)}</div></div>${classBadge(p.parent_class)}</li>`).join('')}</ol>
    <div class="cluster">
      ${next ? `<a class="button" href="${esc(weekHref(next))}" data-next-week>Open next week</a>`
        : `<button class="button" type="button" data-generate-next>Generate next week · ${esc(price)}</button>`}
      <button class="button secondary" type="button" data-analyze>Analyse again (free)</button>
    </div>
    ${next ? '' : `<p class="small muted" data-next-cost>Charged ${esc(price)}${esc(balance)} when you click; refunded if it fails.</p>`}
    <div data-next-status></div></div>`;
}

async function lineageBlock(el, perf) {
  const winners = perf.items.filter((i) => i.class === 'winner');
  if (!winners.length) { el.innerHTML = '<p class="small muted">Winners and what they led to appear here after a rollup.</p>'; return; }
  const chains = await Promise.all(winners.map((w) => api(`/api/content-items/${w.id}/lineage`).catch(() => null)));
  const node = (n, here) => `<li${here ? ' aria-current="true"' : ''}><div><div>${esc(n.hook || n.title || 'Untitled')}</div>
    <div class="small muted">Week of ${esc(n.week_start ?? '—')}${n.derived_label ? ` · ${esc(n.derived_label)}` : ''}</div></div>
    <div class="cluster"><span class="small">${n.score == null ? 'not scored' : `score ${num(n.score, 1)}`}</span>${n.class ? classBadge(n.class) : ''}</div></li>`;
  el.innerHTML = chains.filter(Boolean).map((c) => `<ol class="list perf-lineage" aria-label="Lineage of ${esc(c.item.hook || 'a winner')}">
    ${c.ancestors.map((n) => node(n)).join('')}${node(c.item, true)}${c.descendants.map((n) => node(n)).join('')}</ol>`).join('')
    || '<p class="small muted">No lineage yet.</p>';
}

/**
 * The week's performance section into el (a container the caller placed):
 * numbers, charts, the items with views entry for manual posts, the
 * analysis, generate-next and the winners' lineage. weekHref(id) links
 * another week (next week). Returns a refresh().
 */
export async function mountWeekPerformance(el, cycleId, { weekHref = (id) => `/app/performance/weeks/${id}` } = {}) {
  let busy = false;
  const render = async (perf, week) => {
    const cur = perf.currency;
    const rolled = perf.cycle.rolled_up_at;
    if (!perf.items.length) {
      el.innerHTML = `<h2 id="perf-h">Performance</h2>
        <p class="small muted">Clicks, sign-ups, revenue and each post's score appear here once this week's posts are published and their links clicked; then the week can be analysed and next week generated from what won.</p>`;
      return;
    }
    el.innerHTML = `<div class="row"><h2 id="perf-h">Performance</h2>
        <div class="cluster"><span class="small muted" data-rolled>${rolled ? `Numbers from ${esc(fmtAgo(rolled))}` : 'Not rolled up yet'}</span>
        <button class="button small secondary" type="button" data-rollup>Refresh numbers</button></div></div>
      ${statRow(perf.totals, cur)}
      ${perf.items.length ? `<div class="perf-grid">
        ${figure('daily', `Clicks, sign-ups and revenue per day${cur ? ` (${cur})` : ''}`, ['Day', 'Clicks', 'Sign-ups', 'Revenue'],
          perf.days.map((d) => [d.day, num(d.clicks), num(d.signups), money(d.revenue_scored_minor, cur)]))}
        ${figure('scores', 'Score per post (green winner, grey neutral, red loser)', ['Post', 'Score', 'Class'],
          perf.items.map((it) => [`#${it.position ?? ''} ${it.hook || it.title || ''}`, num(it.score, 1), it.class || 'not rolled up']))}
        </div>
        <p class="small muted">Score = revenue × 100 + sign-ups × 20 + clicks × 2 + CTR × 5, with revenue in ${esc(cur || 'the project\'s currency')}; CTR only where views are known.${
          Object.keys(perf.revenue || {}).filter((c) => c !== cur).length ? ` Also received, not scored: ${esc(Object.entries(perf.revenue).filter(([c]) => c !== cur).map(([c, v]) => money(v, c)).join(', '))}.` : ''}</p>
        ${itemsTable(perf)}` : emptyState('No posts this week', 'Generate the week\'s pack; its results show here once it is published and tracked.')}
      <div data-perf-status></div>
      ${analysisBlock(week?.cycle?.analysis, perf, week, weekHref)}
      <section class="stack" aria-labelledby="lin-h"><h3 id="lin-h">Lineage of the winners</h3><div data-lineage><p class="small muted">Loading…</p></div></section>`;
    if (perf.items.length) {
      draw(el, 'daily', dailyChart(perf.days, cur));
      if (rolled) draw(el, 'scores', scoreChart(perf.items));
    }
    lineageBlock(el.querySelector('[data-lineage]'), perf);
  };
  const load = async () => {
    const [perf, week] = await Promise.all([api(`/api/strategy-cycles/${cycleId}/performance`), api(`/api/strategy-cycles/${cycleId}`)]);
    await render(perf, week);
    return perf;
  };
  const status = (sel, tone, title, text = '') => { const s = el.querySelector(sel); if (s) s.innerHTML = statusBlock(tone, title, text); };
  const act = async (button, fn) => {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try { await fn(); } catch (e) {
      status('[data-next-status]', 'error', e.status === 429 ? 'Please wait' : 'That did not work', e.message);
      if (!el.querySelector('[data-next-status]')) status('[data-perf-status]', 'error', 'That did not work', e.message);
      button.disabled = false;
    } finally { busy = false; }
  };
  let nextRequest = null;
  el.addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    if (b.matches('[data-rollup]')) act(b, async () => { await api(`/api/strategy-cycles/${cycleId}/rollup`, { method: 'POST' }); await load(); });
    if (b.matches('[data-analyze]')) {
      act(b, async () => {
        b.textContent = 'Analysing…';
        await api(`/api/strategy-cycles/${cycleId}/analyze`, { method: 'POST' });
        await load();
      });
    }
    if (b.matches('[data-generate-next]')) {
      nextRequest ||= `next-${crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36)}`;
      act(b, async () => {
        b.textContent = 'Generating next week…';
        const r = await api(`/api/strategy-cycles/${cycleId}/generate-next`, { method: 'POST', body: { request_id: nextRequest } });
        await load();
        status('[data-next-status]', 'ok', `Next week (from ${r.cycle.week_start}) has ${r.items.length} posts`,
          `Charged ${r.receipts.reduce((n, x) => n + Math.abs(x.amount || 0), 0)} generation credits. Each post says which of this week's posts it continues.`);
      });
    }
  });
  el.addEventListener('submit', (ev) => {
    const f = ev.target.closest('[data-views]');
    if (!f) return;
    ev.preventDefault();
    const b = f.querySelector('button');
    act(b, async () => {
      const v = f.views.value.trim();
      if (!/^\d+$/.test(v)) throw Object.assign(new Error('Views must be a whole number'), { status: 422 });
      await api(`/api/content-items/${f.dataset.views}/views`, { method: 'PUT', body: { views: Number(v) } });
      await api(`/api/strategy-cycles/${cycleId}/rollup`, { method: 'POST' });
      await load();
    });
  });
  try { await load(); } catch (e) {
    el.innerHTML = statusBlock('error', 'Could not load the performance', e.message);
  }
  return load;
}

/* ---- the project -------------------------------------------------------------------- */

/** The project's trend into el: per day, per week, the weeks with links. */
export async function mountProjectPerformance(el, projectId) {
  let perf;
  try { perf = await api(`/api/projects/${projectId}/performance`); } catch (e) {
    el.innerHTML = `<h2 id="pperf-h">Performance</h2>${statusBlock('error', 'Could not load the performance', e.message)}`;
    return;
  }
  const cur = perf.currency;
  const rolled = perf.weeks.filter((w) => w.rolled_up_at);
  const totals = perf.weeks.reduce((t, w) => ({ clicks: t.clicks + w.clicks, signups: t.signups + w.signups,
    revenue_scored_minor: t.revenue_scored_minor + w.revenue_scored_minor }), { clicks: 0, signups: 0, revenue_scored_minor: 0 });
  el.innerHTML = `<div class="row"><h2 id="pperf-h">Performance</h2><span class="small muted">${esc(perf.from)} – ${esc(perf.to)}</span></div>
    ${rolled.length ? `${statRow(totals, cur)}<div class="perf-grid">
      ${figure('pdaily', `Clicks, sign-ups and revenue per day${cur ? ` (${cur})` : ''}`, ['Day', 'Clicks', 'Sign-ups', 'Revenue'],
        perf.days.map((d) => [d.day, num(d.clicks), num(d.signups), money(d.revenue_scored_minor, cur)]))}
      ${figure('weeks', 'Week over week', ['Week of', 'Clicks', 'Sign-ups', 'Revenue', 'Winners'],
        perf.weeks.map((w) => [w.week_start, num(w.clicks), num(w.signups), money(w.revenue_scored_minor, cur), num(w.winners)]))}
      </div>` : emptyState('No results yet', 'Once a week\'s posts are published and their links clicked, refresh a week\'s numbers to see the trend here.')}
    ${perf.weeks.length ? `<ul class="list">${perf.weeks.slice().reverse().map((w) => `<li><div><a href="/app/performance/weeks/${w.cycle_id}">Week of ${esc(w.week_start)}</a>
      <div class="small muted">${w.items} posts · ${num(w.clicks)} clicks · ${num(w.signups)} sign-ups · ${esc(money(w.revenue_scored_minor, cur))}${w.source === 'iteration' ? ' · from last week\'s analysis' : ''}</div></div>
      ${w.top_score != null ? `<span class="badge ok">top score ${num(w.top_score, 1)}</span>` : '<span class="badge">not rolled up</span>'}</li>`).join('')}</ul>` : ''}
    ${rolled.length ? '<section class="stack" aria-labelledby="plin-h"><h3 id="plin-h">Lineage of the latest winners</h3><div data-lineage></div></section>' : ''}`;
  if (rolled.length) lineageBlock(el.querySelector('[data-lineage]'), { items: perf.items.filter((i) => i.class === 'winner').slice(-3).reverse() });
  if (rolled.length) {
    draw(el, 'pdaily', dailyChart(perf.days, cur));
    draw(el, 'weeks', weeksChart(perf.weeks, cur));
  }
}

/** /app/performance/weeks/<cycleId>: one week's performance. */
export async function renderPerformancePage(view, ctx) {
  const m = /^\/app\/performance\/weeks\/(\d+)$/.exec(ctx.path);
  if (!m) {
    view.innerHTML = `<section class="card empty"><strong>There is no such page.</strong><a class="button" href="/app/projects">Projects</a></section>`;
    return;
  }
  let perf;
  try { perf = await api(`/api/strategy-cycles/${m[1]}/performance`); } catch (e) {
    view.innerHTML = `<section class="card empty"><strong>${e.status === 404 ? 'This week does not exist or is not yours.' : esc(e.message)}</strong>
      <a class="button" href="/app/projects">All projects</a></section>`;
    return;
  }
  ctx.setTitle(`Week of ${perf.cycle.week_start}`);
  view.innerHTML = `<p><a class="muted" href="/app/projects/${perf.cycle.project_id}">← Project</a>${perf.cycle.parent_cycle_id
    ? ` · <a class="muted" href="/app/performance/weeks/${perf.cycle.parent_cycle_id}">Previous week</a>` : ''}</p>
    <section class="card stack" aria-labelledby="perf-h" data-week-performance></section>`;
  await mountWeekPerformance(view.querySelector('[data-week-performance]'), m[1]);
}
