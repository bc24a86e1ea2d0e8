// settings.js — the studio's Settings section: plan, credits, usage left this
// week/month, and recent credit transactions (real data, with empty states).
import { api, esc } from './api.js';
import { errorBlock, receiptLabel, usageText } from './ui.js';

const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');
const metricNames = {
  posts_generated: 'Posts generated', regenerations: 'Manual regenerations', renders: 'Renders', publishes: 'Publishes',
};

/* A plan limit read as a limit: "up to 5", "unlimited". */
const upTo = (n) => (n < 0 ? 'Unlimited' : `Up to ${n}`);
const LIMIT_WORDS = { posts_generated: ['post', 'posts'], regenerations: ['regeneration', 'regenerations'], renders: ['render', 'renders'],
  publishes: ['publish', 'publishes'] };

/* A waitlisted account cannot spend credits yet: say what access brings instead of showing balances. */
function accessCard(plan) {
  return `<section class="card stack" data-testid="access-credits"><h2>Credits</h2>
    <p class="muted">Credits pay for writing and rendering promos. They start once your account has access:
      ${plan.monthly_grants.generation} generation and ${plan.monthly_grants.render} render credits each month on the ${esc(plan.plan.label)} plan.</p></section>`;
}

/* The plan's limits as limits ("Up to 5 posts a week"), for an account that has not used anything yet. */
function limitsCard(usage) {
  const rows = [];
  for (const [win, per] of [['week', 'a week'], ['month', 'a month']]) {
    for (const [metric, m] of Object.entries(usage[win].metrics)) {
      if (m.limit === null) continue;
      const [one, many] = LIMIT_WORDS[metric] || [metric, metric];
      rows.push(`<li>Up to ${m.limit} ${m.limit === 1 ? one : many} ${per}</li>`);
    }
  }
  return `<section class="card stack" data-testid="plan-limits"><h2>Plan limits</h2>
    ${rows.length ? `<ul class="muted">${rows.join('')}</ul>` : '<p class="muted">No limits on this plan.</p>'}</section>`;
}

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
    ${plan.access.product ? '' : '<p class="status error">Your account is on the waitlist. <a href="/waitlist.html">Request access</a>, or <a href="/pricing">get Pro</a> to start right away.</p>'}
    <dl class="facts">
      <div><dt>Active projects</dt><dd>${upTo(plan.limits.active_projects)}</dd></div>
      <div><dt>Connected channels</dt><dd>${upTo(plan.limits.connected_channels)}</dd></div>
      ${plan.limits.media_bytes ? `<div><dt>Media library</dt><dd>Up to ${plan.limits.media_bytes >= 1 << 30 ? `${plan.limits.media_bytes / (1 << 30)} GB` : `${Math.round(plan.limits.media_bytes / (1 << 20))} MB`} · ${plan.limits.media_files} files</dd></div>` : ''}
      <div><dt>Monthly credits</dt><dd>${plan.monthly_grants.generation} generation · ${plan.monthly_grants.render} render</dd></div>
    </dl>
    <p class="muted">Signed in as ${esc(me.user.email)}.</p>
  </section>`;
}

const fmtDay = (iso) => (iso ? new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' }) : '');
const money = (cents, cur) => (cents == null ? '' : new Intl.NumberFormat(undefined, { style: 'currency', currency: cur || 'USD' }).format(cents / 100));
const EVENT_LABELS = {
  subscription_created: 'Pro subscription started',
  subscription_updated: 'Subscription updated',
  subscription_cancelled: 'Subscription cancelled',
  subscription_resumed: 'Subscription resumed',
  subscription_expired: 'Subscription ended',
  subscription_paused: 'Subscription paused',
  subscription_unpaused: 'Subscription resumed after a pause',
  subscription_payment_success: 'Payment received',
  subscription_payment_failed: 'Payment failed',
  subscription_payment_recovered: 'Payment recovered',
};
const STATUS_TEXT = {
  active: ['ok', 'Active'], on_trial: ['ok', 'Trial'], cancelled: ['warn', 'Cancelled'], past_due: ['warn', 'Payment due'],
  unpaid: ['error', 'Unpaid'], paused: ['warn', 'Paused'], expired: ['', 'Ended'],
};

/** The Billing card: subscription, manage billing (portal), and the history the webhooks recorded. */
function billingCard(b) {
  const sub = b.subscription;
  let head;
  if (!sub) {
    head = `<p class="muted">No subscription. Pro is $5 a month and opens the studio right away.</p>
      <p><a class="button" href="/pricing" data-testid="see-pro">See Pro</a></p>
      ${b.configured ? '' : '<p class="muted small">Payments are not set up on this server yet.</p>'}`;
  } else {
    const [tone, label] = STATUS_TEXT[sub.status] || ['', sub.status];
    const when = sub.status === 'cancelled' || sub.cancel_at_period_end
      ? (sub.ends_at ? `Pro ends on ${esc(fmtDay(sub.ends_at))}.` : '')
      : sub.status === 'expired' ? (sub.ends_at ? `Ended on ${esc(fmtDay(sub.ends_at))}.` : '')
        : sub.renews_at ? `Renews on ${esc(fmtDay(sub.renews_at))}.` : '';
    head = `<div class="row"><span>Pro subscription</span><span class="badge ${tone}" data-testid="sub-status">${esc(label)}</span></div>
      <p class="muted" data-testid="sub-dates">${when}${sub.trial_ends_at ? ` Trial until ${esc(fmtDay(sub.trial_ends_at))}.` : ''}
        ${sub.card_brand && sub.card_last_four ? ` Paying with ${esc(sub.card_brand)} ending ${esc(sub.card_last_four)}.` : ''}</p>
      ${sub.manageable ? `<p><button class="button secondary" type="button" data-portal>Manage billing</button></p>
        <p class="muted small">Change your card, download invoices or cancel on Lemon Squeezy's billing page.</p>` : ''}
      <p class="status error" data-portal-error role="alert" hidden></p>`;
  }
  const rows = b.history.filter((h) => h.outcome !== 'stale' && h.outcome !== 'ignored' && EVENT_LABELS[h.event]);
  const history = rows.length
    ? `<ul class="history" data-testid="billing-history">${rows.map((h) => `<li>
        <span class="history-what">${esc(EVENT_LABELS[h.event])}${h.event.includes('payment') ? '' : h.status ? ` <span class="muted small">· ${esc((STATUS_TEXT[h.status] || ['', h.status])[1])}</span>` : ''}</span>
        <span class="history-amount">${esc(money(h.amount_cents, h.currency))}</span>
        <span class="muted small history-when">${esc(fmtDate(h.at))}</span></li>`).join('')}</ul>`
    : '<p class="muted">No payments yet.</p>';
  return `<section class="card stack" id="billing"><h2>Billing</h2>${head}<h3>Billing history</h3>${history}</section>`;
}

function bindPortal(container) {
  const button = container.querySelector('[data-portal]');
  if (!button) return;
  button.addEventListener('click', async () => {
    const error = container.querySelector('[data-portal-error]');
    error.hidden = true;
    button.disabled = true;
    try {
      const r = await api('/api/billing/portal', { method: 'POST', body: {} });
      location.assign(r.url);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
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
          <span data-usage="${esc(metric)}-${win}">${esc(usageText(m))}</span></div>
        ${m.limit === null ? '' : `<div class="meter"><span style="width:${pct}%"></span></div>`}
      </div>`);
    }
  }
  return `<section class="card stack"><h2>Usage</h2>${rows.join('')}
    <p class="muted">${esc(usage.note)}</p></section>`;
}

/* "Video render for 'Weekend jollof promo'", linked to the output it paid for. */
function txWhat(t) {
  const label = esc(receiptLabel(t));
  if (!t.subject) return label;
  const title = t.subject.title || `Output ${t.subject.content_item_id}`;
  return `${label} for <a href="/app/create?item=${t.subject.content_item_id}">${esc(title)}</a>`;
}

/* A stacked list (no scroll region): what and when on the left, the amount
   and the balance after on the right; it wraps cleanly at phone width. */
function txRows(items) {
  const why = { charge: 'Charged', refund: 'Refunded', monthly_grant: 'Monthly grant', adjustment: 'Adjustment' };
  return items.map((t) => `<li class="tx">
    <div class="tx-what"><div>${txWhat(t)}</div>
      <div class="small muted">${esc(why[t.reason] || t.reason)} · <time datetime="${esc(t.created_at)}">${esc(fmtDate(t.created_at))}</time></div></div>
    <div class="tx-amount"><span class="amount ${t.amount < 0 ? 'neg' : 'pos'}">${t.amount > 0 ? '+' : ''}${t.amount} ${esc(t.kind)}</span>
      <div class="small muted">Left: ${t.balances_after.generation} generation · ${t.balances_after.render} render</div></div>
  </li>`).join('');
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
  body.innerHTML = `<ul class="tx-list" data-tx>${txRows(first.items)}</ul>`;
  let next = first.next_before;
  if (next) {
    const more = document.createElement('button');
    more.className = 'button secondary';
    more.textContent = 'Load more';
    more.addEventListener('click', async () => {
      more.disabled = true;
      const page = await api(`/api/me/transactions?limit=20&before=${next}`);
      body.querySelector('[data-tx]').insertAdjacentHTML('beforeend', txRows(page.items));
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
    const [plan, credits, usage, billing] = await Promise.all([api('/api/me/plan'), api('/api/me/credits'),
      api('/api/me/usage'), api('/api/billing')]);
    const access = plan.access.product;
    container.innerHTML = `<div class="grid-2">${planCard(plan, me)}${access ? creditsCard(credits, plan) : accessCard(plan)}</div>${billingCard(billing)}${access ? usageCard(usage) : limitsCard(usage)}`;
    bindPortal(container);
    if (access) await transactionsCard(container); // grants a waitlisted account cannot spend are not shown as activity
  } catch (err) {
    container.innerHTML = errorBlock(err, 'load your settings', '<a class="button secondary small" href="">Reload</a>');
  }
}

/** The studio router's entry (app.js): the settings page for ctx.me. */
export function renderSettingsPage(view, ctx) {
  view.id = 'settings';
  return renderSettings(view, ctx.me);
}
