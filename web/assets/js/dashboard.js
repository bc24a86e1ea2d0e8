// dashboard.js — /app: quick actions, credits and plan, usage against the
// plan's limits, recent outputs (thumbnails or a "No preview" tile), projects
// and recent credit activity. Real data only: an empty section offers the
// action that fills it, never a made-up number. A user without a finished
// project is sent to onboarding first (projects.js).
import { api, esc } from './api.js';
import { emptyState, errorBlock, skeleton, statusBlock, thumbTile, receiptRow, credits, fmtAgo, usageText } from './ui.js';
import { trackingCount, hydrateCounts } from './tracking.js';

const ICONS = {
  create: '<path d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8z"/>',
  chat: '<path d="M4 5h16v11H9l-5 4z"/>',
  project: '<path d="M3 7h7l2 2h9v10H3z"/><path d="M12 12v4M10 14h4"/>',
  web: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>',
};
const icon = (k) => `<span class="quick-icon"><svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">${ICONS[k]}</svg></span>`;

const METRICS = {
  posts_generated: 'Posts generated', regenerations: 'Regenerations', renders: 'Renders', publishes: 'Publishes',
};

function quickActions(projects) {
  const p = projects.find((x) => x.status === 'active') || projects[0];
  const importHref = p ? `/app/projects/${p.id}` : '/app/onboarding';
  const importText = p && p.website_url ? `Read ${p.name}'s website again for fresh context.` : 'Add your website so posts can quote your menu and prices.';
  const card = (href, k, title, text, primary = false) => `<a class="card card-link quick${primary ? ' primary' : ''}" href="${href}"${k === 'web' ? ' data-import' : ''}>
    ${icon(k)}<div><h2>${esc(title)}</h2><p class="small muted">${esc(text)}</p></div></a>`;
  return `<section aria-label="Quick actions" class="grid-4 quick-actions">
    ${card('/app/create', 'create', 'Create a promo', 'One sentence in, a finished video out.', true)}
    ${card('/app/chats', 'chat', 'Chat', 'Ask about your business, draft ideas.')}
    ${card('/app/projects', 'project', 'New project', 'Another business, brand or app.')}
    ${card(importHref, 'web', 'Import website', importText)}
  </section>
  ${p ? `<section class="card row" aria-labelledby="this-week-h"><div><h2 id="this-week-h">This week</h2>
    <p class="small muted" data-this-week-status>${esc(p.name)}: 5 posts planned from your profile, rendered, approved and scheduled in one place.</p></div>
    <a class="button" href="/app/projects/${p.id}/weeks/current" data-this-week>Open this week</a></section>` : ''}`;
}

function creditsCard(cr, plan) {
  return `<section class="card stack" aria-labelledby="credits-h">
    <div class="row"><h2 id="credits-h">Credits</h2><span class="badge ${plan.access.product ? 'ok' : 'warn'}">${esc(plan.plan.label)} plan</span></div>
    <div class="stat-row">
      <div class="stat"><span class="stat-value" data-testid="generation-balance">${cr.generation.balance}</span><span class="small muted">generation credits</span></div>
      <div class="stat"><span class="stat-value" data-testid="render-balance">${cr.render.balance}</span><span class="small muted">render credits</span></div>
    </div>
    <p class="small muted">Your plan adds ${cr.generation.monthly_grant} generation and ${cr.render.monthly_grant} render credits each month; unused credits carry over.</p>
    <p><a class="small" href="/dashboard/settings">Plan, costs and transactions</a></p>
  </section>`;
}

function usageCard(usage) {
  const rows = [];
  for (const [win, label] of [['week', 'this week'], ['month', 'this month']]) {
    for (const [metric, m] of Object.entries(usage[win].metrics)) {
      const pct = m.limit ? Math.min(100, Math.round((m.used / m.limit) * 100)) : 0;
      rows.push(`<div class="usage"><div class="row small"><span>${esc(METRICS[metric] || metric)} <span class="muted">· ${label}</span></span>
        <span class="muted" data-usage="${esc(metric)}-${win}">${esc(usageText(m))}</span></div>
        ${m.limit === null ? '' : `<div class="meter" role="progressbar" aria-label="${esc(METRICS[metric] || metric)} ${label}" aria-valuemin="0" aria-valuemax="${m.limit}" aria-valuenow="${m.used}"><span style="width:${pct}%"></span></div>`}</div>`);
    }
  }
  return `<section class="card stack" aria-labelledby="usage-h"><h2 id="usage-h">Usage</h2>${rows.join('')}
    <p class="small muted">${esc(usage.note)}</p></section>`;
}

function outputsSection(items, projects) {
  const names = new Map(projects.map((p) => [p.id, p.name]));
  const body = items.length
    ? `<div class="tiles">${items.map((it) => `<div>${thumbTile(it, names.get(it.project_id))}${trackingCount(it.id)}</div>`).join('')}</div>`
    : `<div class="card empty">${emptyState('No outputs yet.', 'Describe a promotion in one sentence and ClipLoop writes, renders and stores it here.', '<a class="button" href="/app/create">Create your first promo</a>')}</div>`;
  return `<section aria-labelledby="outputs-h"><div class="section-head"><h2 class="section-title" id="outputs-h">Recent outputs</h2>
    ${items.length ? '<a href="/app/create">Create another</a>' : ''}</div>${body}</section>`;
}

function projectsCard(data) {
  const { projects, limits } = data;
  const max = limits.max_active_projects < 0 ? 'unlimited' : limits.max_active_projects;
  const body = projects.length
    ? `<ul class="list">${projects.slice(0, 5).map((p) => `<li><div><a href="/app/projects/${p.id}">${esc(p.name)}</a>
        <div class="small muted">${esc([p.category, p.city].filter(Boolean).join(' · ') || 'No details yet')}${p.onboarded ? '' : ' · setup not finished'}</div></div>
        <span class="badge ${p.status === 'active' ? 'ok' : ''}">${esc(p.status)}</span></li>`).join('')}</ul>`
    : emptyState('No projects yet.', 'A project holds your business profile so every post sounds like you.', '<a class="button" href="/app/onboarding">Set up a project</a>');
  return `<section class="card stack" aria-labelledby="projects-h"><div class="row"><h2 id="projects-h">Projects</h2>
    <span class="small muted">${limits.active_projects} of ${max} active</span></div>${body}
    ${projects.length ? '<p><a class="small" href="/app/projects">All projects</a></p>' : ''}</section>`;
}

function activityCard(tx) {
  const body = tx.items.length
    ? `<ul class="list">${tx.items.map(receiptRow).join('')}</ul>`
    : emptyState('No credit activity yet.', 'Charges, refunds and monthly grants appear here as they happen.', '<a class="button secondary" href="/app/create">Create a promo</a>');
  return `<section class="card stack" aria-labelledby="activity-h"><div class="row"><h2 id="activity-h">Recent activity</h2>
    ${tx.items.length ? '<a class="small muted" href="/dashboard/settings">All transactions</a>' : ''}</div>${body}</section>`;
}

/** Render the dashboard into view (see app.js for ctx). One request (GET /api/home) brings the whole first screen. */
export async function renderDashboard(view, ctx) {
  ctx.setTitle('Home', `Signed in as ${ctx.me.user.email}`);
  view.innerHTML = `<div class="grid-4">${`<div class="card">${skeleton(2)}</div>`.repeat(4)}</div>
    <div class="grid-2"><div class="card">${skeleton(4)}</div><div class="card">${skeleton(4)}</div></div>`;
  let home;
  try {
    home = await api('/api/home');
  } catch (e) {
    view.innerHTML = errorBlock(e, 'load your studio', '<a class="button secondary small" href="/app">Reload</a>');
    return;
  }
  if (home.onboarding?.state !== 'done' && !home.onboarding?.error) { location.replace('/app/onboarding'); return 'redirected'; }
  const failed = ['projects', 'credits', 'plan', 'usage', 'items', 'transactions'].map((k) => home[k]).find((part) => !part || part.error);
  if (failed !== undefined) {
    view.innerHTML = errorBlock({ status: 500, message: failed?.error?.message || 'Part of the page did not load' }, 'load your studio',
      '<a class="button secondary small" href="/app">Reload</a>');
    return;
  }
  const data = { projects: home.projects, cr: home.credits, plan: home.plan, usage: home.usage, items: home.items.items, tx: home.transactions };
  const last = data.items[0];
  if (last) ctx.setTitle('Home', `Last promo ${fmtAgo(last.created_at)} · ${credits(data.cr.generation.balance, 'generation')} and ${credits(data.cr.render.balance, 'render')} left`);
  view.innerHTML = `${quickActions(data.projects.projects)}
    <div class="grid-2">${creditsCard(data.cr, data.plan)}${usageCard(data.usage)}</div>
    ${outputsSection(data.items, data.projects.projects)}
    <div class="grid-2">${projectsCard(data.projects)}${activityCard(data.tx)}</div>`;
  hydrateCounts(view, home.tracking?.items || []);
  showThisWeek(view, data.projects.projects, home.cycles);
  showWebsite(view, data.projects.projects, home.ingestion);
}

/* The "Import website" entry tells what happened to the last reading (failed, reading, read) instead of offering it blindly. */
function showWebsite(view, projects, ingestion) {
  const p = projects.find((x) => x.status === 'active') || projects[0];
  const card = view.querySelector('[data-import]');
  if (!p || !p.website_url || !card || !ingestion || ingestion.error) return;
  const { run } = ingestion;
  if (!run) return;
  const [title, text] = {
    failed: ['Website not read', `We could not read ${p.website_url} last time. Check the address and try again.`],
    queued: ['Reading your website', `${p.name}'s pages are being read; posts will quote them.`],
    running: ['Reading your website', `${run.pages_fetched} page${run.pages_fetched === 1 ? '' : 's'} read so far.`],
    completed: ['Website read', `${run.documents} page${run.documents === 1 ? '' : 's'} from ${p.name}'s site feed your posts. Read it again for fresh context.`],
  }[run.status] || [];
  if (!title) return;
  card.querySelector('h2').textContent = title;
  card.querySelector('p').textContent = text;
  card.dataset.import = run.status;
}

/* The active project's current week in the "This week" entry (real counts, or the line stays as it is). */
function showThisWeek(view, projects, r) {
  const p = projects.find((x) => x.status === 'active') || projects[0];
  const el = view.querySelector('[data-this-week-status]');
  if (!p || !el || !r || r.error) return;
  const y = r.cycles.find((c) => c.week_start === r.current_week_start);
  if (y && y.items) el.textContent = `${p.name}: ${y.items} posts this week, ${y.scheduled} scheduled or published.`;
  else el.textContent = `${p.name}: no posts for this week yet. Generate the pack from your profile in one click.`;
}
