// settings.js — the studio's Settings section: plan, credits, usage left this
// week/month, and recent credit transactions (real data, with empty states).
import { api, esc } from './api.js';
import { receiptLabel } from './ui.js';

const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');
const metricNames = {
  posts_generated: 'Posts generated', regenerations: 'Manual regenerations', renders: 'Renders', publishes: 'Publishes',
};

function planCard(plan, me) {
  const sub = plan.subscription;
  let subLine = 'No subscription.';
  if (sub) {
    const end = sub.current_period_end ? new Date(sub.current_period_end * 1000).toLocaleDateString() : null;
    subLine = `Pro subscription: ${esc(sub.status.replace('_', ' '))}`
      + (sub.cancel_at_period_end && end ? ` · ends ${esc(end)}` : end ? ` · renews ${esc(end)}` : '');
  }
  return `<section class="card stack">
    <div class="row"><h2>Plan</h2><span class="badge ${plan.access.product ? 'ok' : 'warn'}">${esc(plan.plan.label)}</span></div>
    <p class="muted">${esc(subLine)}${plan.beta_approved ? ' Beta access approved.' : ''}</p>
    ${plan.access.product ? '' : '<p class="status error">Your account is on the waitlist. <a href="/waitlist.html">Request access</a></p>'}
    <dl class="facts">
      <div><dt>Active projects</dt><dd>${plan.limits.active_projects}</dd></div>
      <div><dt>Connected channels</dt><dd>${plan.limits.connected_channels}</dd></div>
      <div><dt>Monthly credits</dt><dd>${plan.monthly_grants.generation} generation · ${plan.monthly_grants.render} render</dd></div>
    </dl>
    <p class="muted">Signed in as ${esc(me.user.email)}.</p>
  </section>`;
}

function creditsCard(credits, plan) {
  const costs = plan.costs.filter((c) => c.cost > 0)
    .map((c) => `<li>${esc(c.label)}: ${c.cost} ${esc(c.kind)}</li>`).join('');
  return `<section class="card stack">
    <h2>Credits</h2>
    <div class="stat-row">
      <div class="stat"><span class="stat-value" data-testid="generation-balance">${credits.generation.balance}</span><span class="muted">generation credits</span></div>
      <div class="stat"><span class="stat-value" data-testid="render-balance">${credits.render.balance}</span><span class="muted">render credits</span></div>
    </div>
    <details><summary class="muted">What costs credits</summary><ul class="muted">${costs}</ul>
      <p class="muted">Chat, exports, Instagram publishing and the manual queue are free.</p></details>
  </section>`;
}

function usageCard(usage) {
  const rows = [];
  for (const [win, label] of [['week', 'This week'], ['month', 'This month']]) {
    for (const [metric, m] of Object.entries(usage[win].metrics)) {
      const pct = m.limit ? Math.min(100, Math.round((m.used / m.limit) * 100)) : 0;
      rows.push(`<div class="usage">
        <div class="row"><span>${esc(metricNames[metric] || metric)} <span class="muted">· ${label}</span></span>
          <span>${m.limit === null ? `${m.used} used` : `${m.remaining} of ${m.limit} left`}</span></div>
        ${m.limit === null ? '' : `<div class="meter"><span style="width:${pct}%"></span></div>`}
      </div>`);
    }
  }
  return `<section class="card stack"><h2>Usage</h2>${rows.join('')}
    <p class="muted">${esc(usage.note)}</p></section>`;
}

function txRows(items) {
  return items.map((t) => `<tr>
    <td>${esc(fmtDate(t.created_at))}</td>
    <td>${esc(receiptLabel(t))}<div class="muted small">${esc(t.reference_key)}</div></td>
    <td>${esc(t.kind)}</td>
    <td class="num ${t.amount < 0 ? 'neg' : 'pos'}">${t.amount > 0 ? '+' : ''}${t.amount}</td>
    <td class="num">${t.balances_after.generation} / ${t.balances_after.render}</td>
  </tr>`).join('');
}

async function transactionsCard(container) {
  const section = document.createElement('section');
  section.className = 'card stack';
  section.innerHTML = '<h2>Recent transactions</h2><div data-body><p class="muted">Loading…</p></div>';
  container.append(section);
  const body = section.querySelector('[data-body]');
  const first = await api('/api/me/transactions?limit=20');
  if (first.items.length === 0) {
    body.innerHTML = '<div class="empty"><p>No credit movements yet.</p><p><a class="button" href="/app/create">Create your first promo</a></p></div>';
    return;
  }
  body.innerHTML = `<div class="table-wrap"><table class="table">
    <thead><tr><th>When</th><th>What</th><th>Kind</th><th class="num">Amount</th><th class="num">Balance after (gen / render)</th></tr></thead>
    <tbody>${txRows(first.items)}</tbody></table></div>`;
  let next = first.next_before;
  if (next) {
    const more = document.createElement('button');
    more.className = 'button secondary';
    more.textContent = 'Load more';
    more.addEventListener('click', async () => {
      more.disabled = true;
      const page = await api(`/api/me/transactions?limit=20&before=${next}`);
      body.querySelector('tbody').insertAdjacentHTML('beforeend', txRows(page.items));
      next = page.next_before;
      if (next) more.disabled = false; else more.remove();
    });
    body.append(more);
  }
}

/** Render the settings section into container for the signed-in user `me`. */
export async function renderSettings(container, me) {
  container.innerHTML = '<p class="muted">Loading your plan…</p>';
  try {
    const [plan, credits, usage] = await Promise.all([api('/api/me/plan'), api('/api/me/credits'), api('/api/me/usage')]);
    container.innerHTML = `<div class="grid-2">${planCard(plan, me)}${creditsCard(credits, plan)}</div>${usageCard(usage)}`;
    await transactionsCard(container);
  } catch (err) {
    container.innerHTML = `<p class="status error">Could not load settings: ${esc(err.message)}</p>`;
  }
}

/** The studio router's entry (app.js): the settings page for ctx.me. */
export function renderSettingsPage(view, ctx) {
  view.id = 'settings';
  return renderSettings(view, ctx.me);
}
