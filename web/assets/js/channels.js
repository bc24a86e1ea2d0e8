// channels.js — the "Channels" card of a project page: each connected
// account with its status (active, expired, invalid, disconnected) and the
// action that fits (connect, reconnect, disconnect). Connecting leaves the
// studio for Instagram's authorization page and comes back to the project.
// Below it, the project's Instagram posts with their publish state (followed
// live while one is scheduled or publishing), the link to each published
// post, and the reason a failed one shows.
import { api, esc } from './api.js';
import { fmtDate, statusBlock } from './ui.js';

const STATUS = {
  active: ['Connected', 'ok'], expired: ['Expired', 'warn'], invalid: ['Needs reconnecting', 'error'], disconnected: ['Disconnected', ''],
};
const ERRORS = {
  state_expired: 'The connection took too long. Start it again.',
  state_used: 'That connection link was already used. Start it again.',
  invalid_state: 'The connection could not be verified. Start it again from this page.',
  authorization_denied: 'Instagram did not give access, so nothing changed.',
  connect_failed: 'Instagram did not complete the connection. Try again in a moment.',
  instagram_timeout: 'Instagram did not answer in time, so nothing changed. Try connecting again in a moment.',
};

const PUB = {
  scheduled: ['Scheduled', ''], publishing: ['Publishing…', 'warn'], published: ['Published', 'ok'], failed: ['Failed', 'error'],
};

/** The project's direct-publish items with their publish state, newest first. */
function postsHtml(items) {
  if (!items.length) return '';
  return `<h3 class="small muted">Instagram posts</h3><ul class="list" data-posts>${items.map((it) => {
    const [label, tone] = PUB[it.publish_status] || [it.publish_status, ''];
    const when = it.published_at || it.scheduled_at;
    const detail = it.publish_status === 'published' && it.permalink
      ? `<a href="${esc(it.permalink)}" target="_blank" rel="noopener">View post</a>`
      : it.publish_status === 'failed' && it.publish_error ? esc(it.publish_error) : esc(when ? fmtDate(when) : '');
    return `<li data-post="${it.id}"><div><div>${esc(it.title || 'Untitled promo')}</div><div class="small muted">${detail}</div></div>
      <span class="badge ${tone}" data-post-status>${esc(label)}</span></li>`;
  }).join('')}</ul>`;
}

function cardHtml(data, projectId, notice, posts = []) {
  const ig = data.channels.find((c) => c.channel === 'instagram');
  const [label, tone] = STATUS[ig?.status] || ['Not connected', ''];
  const connect = `/api/integrations/instagram/connect?project_id=${projectId}`;
  let body;
  if (!data.available.instagram) {
    body = `<p class="small muted">Direct publishing needs the server's Instagram app settings (see docs/publishing.md).
      ${data.mock_publisher ? 'In offline mode, scheduled Instagram posts go to the mock platform instead.' : 'Until then, Instagram posts wait in the manual queue.'}</p>`;
  } else if (!ig || ig.status === 'disconnected') {
    body = `<p class="small muted">Connect a professional Instagram account to publish scheduled Reels directly.</p>
      <p><a class="button" href="${connect}" data-connect>Connect Instagram</a></p>`;
  } else {
    const who = ig.username ? `@${esc(ig.username)}` : 'Instagram account';
    const why = ig.status !== 'active' && ig.status_reason ? `<p class="small">${esc(ig.status_reason)}</p>` : '';
    body = `<p>${who}${ig.token_expires_at && ig.status === 'active' ? ` <span class="small muted">· access renews automatically; valid until ${esc(fmtDate(ig.token_expires_at))}</span>` : ''}</p>
      ${why}
      <div class="cluster">${ig.status === 'active' ? '' : `<a class="button" href="${connect}" data-connect>Reconnect</a>`}
        <button class="button secondary small" data-disconnect>Disconnect</button></div>`;
  }
  return `<div class="row"><h2>Channels</h2><span class="badge ${tone}" data-channel-status>Instagram: ${esc(label)}</span></div>
    ${notice || ''}${body}${postsHtml(posts)}`;
}

/** Fill el (a card section) with the project's channels and wire its actions. */
export async function mountChannels(el, projectId, params) {
  let notice = '';
  if (params?.get('channel') === 'connected') notice = statusBlock('ok', 'Instagram is connected.', 'Scheduled Instagram posts of this project are now published directly.');
  const err = params?.get('channel_error');
  if (err) notice = statusBlock('error', 'Instagram was not connected.', ERRORS[err] || 'Try again.');
  // Instagram appends "#_" to its redirect; drop it and the one-time notice from the address.
  if (notice || location.hash === '#_') history.replaceState(null, '', location.pathname);
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const [data, list] = await Promise.all([api(`/api/projects/${projectId}/channels`), api('/api/content-items?limit=100')]);
      const posts = list.items.filter((it) => String(it.project_id) === String(projectId) && it.publish_strategy === 'direct_instagram'
        && PUB[it.publish_status]).slice(0, 10);
      el.innerHTML = cardHtml(data, projectId, notice, posts);
      // Follow posts that are on their way out.
      const soon = (it) => it.publish_status === 'publishing'
        || (it.publish_status === 'scheduled' && new Date(it.scheduled_at).getTime() < Date.now() + 60000);
      if (posts.some(soon)) timer = setTimeout(refresh, 2000);
    } catch (e) {
      el.innerHTML = `<h2>Channels</h2>${statusBlock('error', 'Channels could not load.', e.message)}`;
    }
  }
  el.addEventListener('click', async (ev) => {
    const b = ev.target.closest('[data-disconnect]');
    if (!b) return;
    if (!confirm('Disconnect Instagram? Scheduled Instagram posts will not be published until you connect again.')) return;
    b.disabled = true;
    try {
      await api(`/api/projects/${projectId}/channels/instagram/disconnect`, { method: 'POST', body: {} });
      notice = '';
    } catch (e) {
      notice = statusBlock('error', 'Could not disconnect.', e.message);
    }
    refresh();
  });
  await refresh();
}
