// ui.js — small HTML builders for the shared primitives in app.css (status
// block, empty state, skeleton, progress, thumbnail tile) and formatting
// helpers, so every page composes the same pieces. All builders return HTML
// strings; every value passed in is escaped here.
import { esc } from './api.js';

export { esc };

/** "25 Nov 2026, 09:41" (local time), or '' for no date. */
export function fmtDate(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", else the date. */
export function fmtAgo(iso) {
  if (!iso) return '';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} day${s < 2 * 86400 ? '' : 's'} ago`;
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/**
 * A plan limit's use in the words the dashboard and settings share: "2 of 5
 * used", "5 of 5 used · limit reached", "7 used · over the limit of 5" (a
 * lower plan's limit after a change), "3 used" (no limit).
 */
export function usageText(m) {
  if (m.limit === null) return `${m.used} used`;
  if (m.used > m.limit) return `${m.used} used · over the limit of ${m.limit}`;
  return `${m.used} of ${m.limit} used${m.used === m.limit ? ' · limit reached' : ''}`;
}

/** "1 generation credit", "2 render credits". */
export function credits(n, kind) {
  return `${n} ${kind} credit${n === 1 ? '' : 's'}`;
}

export const CHANNELS = [['instagram', 'Instagram'], ['tiktok', 'TikTok'], ['whatsapp', 'WhatsApp']];
export const channelLabel = (c) => (CHANNELS.find((x) => x[0] === c) || [c, c || ''])[1];

const ITEM_STATUS = {
  draft: ['Draft', ''], rendering: ['Rendering', 'warn'], rendered: ['Ready', 'ok'], render_failed: ['Render failed', 'error'],
};
/** A badge for a content item's status. */
export function statusBadge(status) {
  const [label, tone] = ITEM_STATUS[status] || [status, ''];
  return `<span class="badge ${tone}">${esc(label)}</span>`;
}

/**
 * A status block: tone '' | 'ok' | 'warn' | 'error'; title and text are
 * plain text; actionsHtml is trusted HTML (links/buttons) shown under it.
 */
export function statusBlock(tone, title, text = '', actionsHtml = '') {
  return `<div class="status ${tone}" role="${tone === 'error' ? 'alert' : 'status'}">${title ? `<strong>${esc(title)}</strong>` : ''}${text ? `<span>${esc(text)}</span>` : ''}${actionsHtml ? `<div class="status-actions">${actionsHtml}</div>` : ''}</div>`;
}

/**
 * A calm sentence for a failed call, with a way forward: [title, text]. The
 * technical message stays behind a "Details" toggle (errorBlock), never as
 * the headline. `what` names what was being done ("load your projects").
 */
export function friendlyError(err, what = 'do that') {
  const status = err && err.status;
  if (!status) return [`We could not reach ClipLoop to ${what}.`, 'Check your internet connection, then try again.'];
  switch (err.code) {
    case 'database_unavailable': case 'service_unavailable':
      return ['ClipLoop is briefly unavailable.', 'Nothing was lost. Try again in a few seconds.'];
    case 'not_found':
      return ['This is not here.', 'It may have been deleted, or it belongs to another account.'];
    case 'unauthorized': case 'not_signed_in':
      return ['Your session has ended.', 'Sign in again to continue.'];
    case 'rate_limited': case 'too_many_requests':
      return ['That was a lot of requests at once.', 'Wait a moment, then try again.'];
    default: break;
  }
  if (status === 401) return ['Your session has ended.', 'Sign in again to continue.'];
  if (status === 404) return ['This is not here.', 'It may have been deleted, or it belongs to another account.'];
  if (status === 429) return ['That was a lot of requests at once.', 'Wait a moment, then try again.'];
  if (status >= 500) return [`Something went wrong on our side while trying to ${what}.`, 'Nothing was lost. Try again in a moment.'];
  return [`We could not ${what}.`, err.message || ''];
}

/** friendlyError as a status block, the technical detail behind a toggle; actionsHtml trusted. */
export function errorBlock(err, what, actionsHtml = '') {
  const [title, text] = friendlyError(err, what);
  const detail = err && (err.message || String(err));
  const showDetail = detail && detail !== text;
  return `<div class="status error" role="alert"><strong>${esc(title)}</strong>${text ? `<span>${esc(text)}</span>` : ''}${
    actionsHtml ? `<div class="status-actions">${actionsHtml}</div>` : ''}${
    showDetail ? `<details class="error-details"><summary>Details</summary><code>${esc(detail)}</code></details>` : ''}</div>`;
}

/** An empty state: title and text plain, actionHtml trusted. */
export function emptyState(title, text, actionHtml = '') {
  return `<div class="empty"><strong>${esc(title)}</strong>${text ? `<span>${esc(text)}</span>` : ''}${actionHtml}</div>`;
}

/** n skeleton lines (loading placeholder). */
export function skeleton(n = 3) {
  return `<div class="skeleton-lines" aria-busy="true" aria-label="Loading">${'<span class="skeleton line"></span>'.repeat(n)}</div>`;
}

/** A progress bar; pct null = indeterminate. */
export function progress(pct, label) {
  const p = pct === null || pct === undefined ? null : Math.max(0, Math.min(100, Math.round(pct)));
  return `<div class="progress-bar${p === null ? ' indeterminate' : ''}" role="progressbar" aria-label="${esc(label || 'Progress')}"
    aria-valuemin="0" aria-valuemax="100"${p === null ? '' : ` aria-valuenow="${p}"`}><span style="width:${p ?? 0}%"></span></div>`;
}

/**
 * The <img> of an item's latest thumbnail, or '' without one: the small
 * (360 px wide) JPEG by default, the full one in srcset for wide or dense
 * screens, with the picture's size (9:16) so the page keeps its layout while it loads.
 */
export function thumbImg(item, sizes = '(max-width: 560px) 45vw, 200px') {
  const assets = item.assets || [];
  const full = assets.find((a) => a.kind === 'thumbnail');
  if (!full) return '';
  const small = assets.find((a) => a.kind === 'thumbnail_small' && a.render_seq === full.render_seq);
  const srcset = small ? ` srcset="${esc(small.url)} 360w, ${esc(full.url)} 1080w" sizes="${esc(sizes)}"` : '';
  return `<img src="${esc((small || full).url)}"${srcset} width="360" height="640" alt="Thumbnail of ${esc(item.title || 'this promo')}" loading="lazy" decoding="async">`;
}

/** "Mama Put · 5 Dec 2026" — which project an output belongs to and when it was made. */
export function outputMeta(item, projectName) {
  const day = item.created_at ? new Date(item.created_at).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' }) : '';
  return [projectName, day].filter(Boolean).join(' · ');
}

/** An output's tile; projectName (optional) is shown with its date so similar outputs can be told apart. */
export function thumbTile(item, projectName = '') {
  const img = thumbImg(item);
  const media = img
    ? `<div class="tile-media">${img}</div>`
    : '<div class="tile-media no-preview"><svg width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6" aria-hidden="true"><rect x="4" y="3" width="16" height="18" rx="2"/><path d="M10 9l5 3-5 3z"/></svg>No preview</div>';
  return `<a class="tile" href="/app/create?item=${encodeURIComponent(item.id)}" data-item="${esc(item.id)}">
    ${media}
    <div class="tile-body"><div class="tile-title">${esc(item.title || 'Untitled promo')}</div>
      <div class="small muted tile-meta" data-testid="tile-meta">${esc(outputMeta(item, projectName))}</div>
      <div class="cluster small muted">${esc(channelLabel(item.channel))} · ${statusBadge(item.status)}</div></div></a>`;
}

const ACTION_LABELS = {
  'generate_video.copy': 'Promo script and caption', 'generate_copy': 'Promo copy', 'content_item.render': 'Video render',
  'generate_video.render': 'Video render', 'regenerate': 'Regeneration',
};
/** A receipt's label in product words (the policy's label otherwise). */
export function receiptLabel(t) {
  return ACTION_LABELS[t.action] || t.label || t.action;
}

/** A ledger receipt as a list row: label, signed amount with kind, time. */
export function receiptRow(t) {
  const sign = t.amount > 0 ? '+' : '';
  const why = { charge: 'Charged', refund: 'Refunded', monthly_grant: 'Monthly grant', adjustment: 'Adjustment' }[t.reason] || t.reason;
  return `<li><div><div>${esc(receiptLabel(t))}</div><div class="small muted">${esc(why)} · ${esc(fmtAgo(t.created_at))}</div></div>
    <span class="amount ${t.amount < 0 ? 'neg' : 'pos'}">${sign}${t.amount} ${esc(t.kind)}</span></li>`;
}
