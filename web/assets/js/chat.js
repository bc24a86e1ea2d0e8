// chat.js — the chat workspace (/app/chats, /app/chats/:id): conversations
// (a drawer on phones) with search, a thread whose assistant replies are
// chat jobs run by the server (live steps, render progress, result cards,
// receipts, retry on failure), and a composer with an explicit mode switch
// that shows what each mode costs. Everything comes from the API, so a
// reload shows every job where it is.
import { api, esc, ApiError } from './api.js';
import { friendlyError } from './ui.js';
import { trackingSlot, hydrateTracking } from './tracking.js';

const MODES = [
  { id: 'chat', label: 'Chat', render: null },
  { id: 'generate_copy', label: 'Copy', render: 0 },
  { id: 'generate_video', label: 'Video', render: 1 },
];
const POLL_MS = 1000;

const state = {
  chats: [], projects: [], current: null, messages: [], mode: 'chat', costs: {}, balances: null,
  q: '', polls: new Map(), sending: false,
};
let root;
let shell; // the studio shell's ctx: setTitle(title, subtitle), actions (heading buttons)

function costText(cost) {
  if (!cost || (!cost.generation && !cost.render)) return 'Free';
  const parts = [];
  if (cost.generation) parts.push(`${cost.generation} generation`);
  if (cost.render) parts.push(`${cost.render} render`);
  return parts.join(' + ') + ` credit${cost.generation + cost.render > 1 ? 's' : ''}`;
}

/** "Free", "1 credit", "2 credits" — the phone's mode switch. */
function shortCost(cost) {
  const n = (cost.generation || 0) + (cost.render || 0);
  return n ? `${n} credit${n > 1 ? 's' : ''}` : 'Free';
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

/* ---------------------------------------------------------------------- */
/* Layout                                                                   */
/* ---------------------------------------------------------------------- */

function layout(view) {
  shell.actions.innerHTML = `
    <button class="button secondary chat-drawer-toggle" type="button" id="chat-drawer" aria-controls="chat-list"
      aria-expanded="false">All chats</button>
    <button class="button secondary" type="button" id="chat-rename" hidden>Rename</button>`;
  root = document.createElement('div');
  root.id = 'chat-view';
  root.className = 'chat';
  root.innerHTML = `
    <aside class="chat-list" id="chat-list" aria-label="Conversations">
      <div class="chat-list-head">
        <input class="input" type="search" id="chat-search" placeholder="Search chats" aria-label="Search chats">
        <button class="button" type="button" id="chat-new">New chat</button>
      </div>
      <label class="field chat-project" id="chat-project-field" hidden>Project
        <select class="input" id="chat-project"></select></label>
      <nav class="chat-items" id="chat-items"></nav>
    </aside>
    <div class="chat-scrim" id="chat-scrim" hidden></div>
    <section class="chat-main" aria-label="Conversation">
      <div class="chat-thread" id="chat-thread" aria-live="polite"></div>
      <form class="chat-composer" id="chat-composer" hidden>
        <div class="mode-switch" role="radiogroup" aria-label="Mode" id="chat-modes"></div>
        <div class="composer-row">
          <textarea class="input" id="chat-input" rows="1" maxlength="4000" placeholder="Ask anything about your business"
            aria-label="Message"></textarea>
          <button class="button" type="submit" id="chat-send">Send</button>
        </div>
        <p class="small muted composer-note" id="chat-note"></p>
      </form>
    </section>`;
  view.append(root);

  root.querySelector('#chat-search').addEventListener('input', debounce((e) => { state.q = e.target.value; loadChats(); }, 250));
  root.querySelector('#chat-new').addEventListener('click', newChat);
  shell.actions.querySelector('#chat-drawer').addEventListener('click', () => drawer(!root.classList.contains('drawer-open')));
  root.querySelector('#chat-scrim').addEventListener('click', () => drawer(false));
  shell.actions.querySelector('#chat-rename').addEventListener('click', rename);
  root.querySelector('#chat-composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  root.querySelector('#chat-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && window.matchMedia('(min-width: 861px)').matches) {
      e.preventDefault();
      send();
    }
  });
  root.querySelector('#chat-thread').addEventListener('click', (e) => {
    const b = e.target.closest('[data-retry]');
    if (b) retry(Number(b.dataset.retry), b);
  });
  window.addEventListener('popstate', () => openFromPath(location.pathname));
}

function drawer(open) {
  root.classList.toggle('drawer-open', open);
  shell.actions.querySelector('#chat-drawer').setAttribute('aria-expanded', String(open));
  root.querySelector('#chat-scrim').hidden = !open;
}

function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

/* ---------------------------------------------------------------------- */
/* Conversations                                                            */
/* ---------------------------------------------------------------------- */

async function loadChats() {
  const q = state.q.trim();
  const data = await api('/api/chats' + (q ? `?q=${encodeURIComponent(q)}` : ''));
  state.chats = data.chats;
  renderList();
}

function renderList() {
  const el = root.querySelector('#chat-items');
  if (!state.chats.length) {
    el.innerHTML = `<p class="small muted chat-empty-list">${state.q.trim() ? 'No chats match your search.' : 'No chats yet.'}</p>`;
    return;
  }
  el.innerHTML = state.chats.map((c) => `
    <a class="chat-item" href="/app/chats/${c.id}" data-chat="${c.id}"${state.current && state.current.id === c.id ? ' aria-current="page"' : ''}>
      <span class="chat-item-title">${esc(c.title || 'New chat')}</span>
      <span class="chat-item-meta small muted">${esc(c.project_name)} · ${esc(fmtTime(c.last_activity_at))}</span>
    </a>`).join('');
  for (const a of el.querySelectorAll('[data-chat]')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      history.pushState(null, '', a.getAttribute('href'));
      drawer(false);
      openChat(Number(a.dataset.chat));
    });
  }
}

async function newChat() {
  if (!state.projects.length) {
    location.assign('/app/projects');
    return;
  }
  const sel = root.querySelector('#chat-project');
  const projectId = Number(sel.value || state.projects[0].id);
  // An empty chat of this project is reused: clicking "New chat" twice never leaves an empty one behind.
  let chat = state.chats.find((c) => c.project_id === projectId && !c.message_count && !c.title);
  if (!chat) {
    if (!state.q.trim()) await loadChats();
    chat = state.chats.find((c) => c.project_id === projectId && !c.message_count && !c.title)
      || await api('/api/chats', { method: 'POST', body: { project_id: projectId } });
  }
  history.pushState(null, '', `/app/chats/${chat.id}`);
  drawer(false);
  await loadChats();
  await openChat(chat.id);
  root.querySelector('#chat-input').focus();
}

/* Rename in place: the title becomes a small form in the header (no browser prompt box). */
function rename() {
  if (!state.current) return;
  const bar = shell.actions;
  const button = bar.querySelector('#chat-rename');
  if (bar.querySelector('#chat-rename-form')) return;
  button.hidden = true;
  const form = document.createElement('form');
  form.id = 'chat-rename-form';
  form.className = 'inline-form';
  form.innerHTML = `<input class="input" name="title" aria-label="Chat title" maxlength="120" required value="${esc(state.current.title || '')}">
    <button class="button" type="submit">Save</button><button class="button secondary" type="button" data-cancel>Cancel</button>
    <span class="small muted" role="status" data-error></span>`;
  bar.prepend(form);
  const input = form.elements.title;
  input.focus();
  input.select();
  const close = () => { form.remove(); button.hidden = false; button.focus(); };
  form.querySelector('[data-cancel]').addEventListener('click', close);
  form.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const title = input.value.trim();
    if (!title) return;
    try {
      state.current = await api(`/api/chats/${state.current.id}`, { method: 'PATCH', body: { title } });
      showTitle();
      loadChats();
      close();
    } catch (e) {
      form.querySelector('[data-error]').textContent = friendlyError(e, 'rename this chat').join(' ');
    }
  });
}

/* ---------------------------------------------------------------------- */
/* Thread                                                                   */
/* ---------------------------------------------------------------------- */

function stopPolls() {
  for (const t of state.polls.values()) clearTimeout(t);
  state.polls.clear();
}

async function openChat(id) {
  stopPolls();
  let data;
  try {
    data = await api(`/api/chats/${id}/messages`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      showEmpty('This chat does not exist or was deleted.');
      return;
    }
    throw e;
  }
  state.current = data.chat;
  state.messages = data.messages;
  showTitle();
  shell.actions.querySelector('#chat-rename').hidden = false;
  root.querySelector('#chat-composer').hidden = false;
  root.querySelector('#chat-note').textContent = `Project: ${state.current.project_name}`;
  renderList();
  renderThread(true);
  for (const m of state.messages) if (m.chat_job && !isFinal(m.chat_job)) poll(m.chat_job.id);
}

function showEmpty(text) {
  state.current = null;
  shell.actions.querySelector('#chat-rename').hidden = true;
  root.querySelector('#chat-composer').hidden = true;
  shell.setTitle('Chats', 'Talk to ClipLoop about your business');
  const noProjects = !state.projects.length;
  root.querySelector('#chat-thread').innerHTML = `<div class="card empty">
    <p><strong>${esc(text)}</strong></p>
    <p>${noProjects ? 'Chats use your business context: create a project first.'
    : 'Ask for ideas for free, or have a promo written and rendered right here.'}</p>
    ${noProjects ? '<a class="button" href="/app/projects">Create a project</a>'
    : '<button class="button" type="button" data-new-chat>Start a chat</button>'}</div>`;
  root.querySelector('[data-new-chat]')?.addEventListener('click', newChat);
}

const isFinal = (j) => j.status === 'completed' || j.status === 'failed';

function renderThread(scroll) {
  const el = root.querySelector('#chat-thread');
  if (!state.messages.length) {
    el.innerHTML = `<div class="chat-hello muted"><p><strong>Start the conversation.</strong></p>
      <p>Chat is free. Copy and Video write a promo for your channel and charge the credits shown.</p></div>`;
    return;
  }
  const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  el.innerHTML = state.messages.map(messageHtml).join('');
  hydrateTracking(el);
  if (scroll || nearBottom) scrollToEnd();
}

function scrollToEnd() {
  const el = root.querySelector('#chat-thread');
  el.scrollTop = el.scrollHeight;
  // On phones the page itself scrolls; keep the newest message above the fixed composer.
  window.scrollTo(0, document.body.scrollHeight);
}

function modeLabel(mode) {
  return (MODES.find((m) => m.id === mode) || MODES[0]).label;
}

function messageHtml(m) {
  if (m.role === 'user') {
    return `<div class="msg msg-user" data-message="${m.id}">
      <div class="bubble">${esc(m.content)}</div>
      <div class="msg-meta small muted"><span class="badge">${esc(modeLabel(m.mode))}</span> ${esc(costText(m.cost))}</div>
    </div>`;
  }
  const job = m.chat_job;
  let body = '';
  if (job && job.status === 'failed') {
    body = `<div class="status error" role="alert"><p>${esc(job.error ? job.error.message : m.content)}</p>
      <button class="button secondary small-button" type="button" data-retry="${job.id}">Retry</button></div>`;
  } else if (job && !isFinal(job)) {
    body = progressHtml(job);
  } else if (m.content) {
    body = `<div class="bubble">${esc(m.content)}</div>`;
  }
  const card = m.card || (job && job.card);
  if (card) body += cardHtml(card, job);
  return `<div class="msg msg-assistant" data-message="${m.id}" data-job-status="${job ? job.status : ''}">${body}</div>`;
}

function progressHtml(job) {
  const icon = { done: '✓', running: '…', failed: '✕', pending: '·', skipped: '–' };
  const steps = job.steps.map((s) => {
    const pct = s.progress ? ` ${s.progress.percent}%` : '';
    return `<li class="step step-${s.status}"><span aria-hidden="true">${icon[s.status] || '·'}</span> ${esc(s.label)}${esc(pct)}
      ${s.progress ? `<div class="meter" role="progressbar" aria-label="Render progress" aria-valuemin="0" aria-valuemax="100"
        aria-valuenow="${s.progress.percent}"><span style="width:${Math.max(2, s.progress.percent)}%"></span></div>` : ''}</li>`;
  }).join('');
  const label = job.status === 'queued' ? 'Waiting for a worker…' : job.mode === 'chat' ? 'Thinking…' : 'Working on it…';
  return `<div class="bubble chat-progress" data-chat-progress><p class="small muted">${esc(label)}</p><ol class="steps">${steps}</ol></div>`;
}

function receiptsHtml(job) {
  if (!job || !job.receipts || !job.receipts.length) return '';
  return `<ul class="receipts small">${job.receipts.map((r) => `<li>
    <span class="${r.amount < 0 ? 'neg' : 'pos'}">${r.amount > 0 ? '+' : '−'}${Math.abs(r.amount)} ${esc(r.kind)}</span>
    <span class="muted">${esc(r.label)}</span></li>`).join('')}</ul>`;
}

function cardHtml(card, job) {
  let media = '';
  if (card.video_url) {
    media = `<video class="card-video" data-testid="chat-video" controls playsinline preload="metadata" src="${esc(card.video_url)}"
      ${card.thumbnail_url ? `poster="${esc(card.thumbnail_url)}"` : ''}>${card.content_item_id
      ? `<track kind="captions" srclang="en" label="Captions" src="/api/content-items/${esc(card.content_item_id)}/captions.vtt" default>` : ''}</video>`;
  } else if (card.status === 'rendering') {
    const pct = card.render ? card.render.percent : 0;
    media = `<div class="card-rendering"><p class="small">Rendering the video… ${pct}%</p>
      <div class="meter"><span style="width:${Math.max(2, pct)}%"></span></div></div>`;
  } else if (card.status === 'render_failed') {
    media = `<p class="small neg">The render failed${card.render_error ? `: ${esc(card.render_error)}` : ''}.</p>`;
  }
  const tags = (card.hashtags || []).join(' ');
  return `<article class="card promo-card${card.video_url || card.status === 'rendering' ? ' has-video' : ''}" data-testid="chat-card">
    ${media}
    <div class="promo-body">
      <div class="row"><span class="badge" data-testid="chat-card-channel">${esc(card.channel_label || card.channel)}</span>
        ${card.download_url ? `<a class="link small" href="${esc(card.download_url)}">Download MP4</a>` : ''}</div>
      ${card.hook ? `<p class="promo-hook">${esc(card.hook)}</p>` : ''}
      <p class="promo-caption">${esc(card.caption)}${tags ? ` <span class="muted">${esc(tags)}</span>` : ''}</p>
      <p class="small"><span class="muted">CTA</span> <strong>${esc(card.cta)}</strong></p>
      ${card.content_item_id ? trackingSlot(card.content_item_id) : ''}
      ${receiptsHtml(job)}
    </div></article>`;
}

function poll(jobId) {
  if (state.polls.has(jobId)) return;
  const tick = async () => {
    let job;
    try {
      job = (await api(`/api/chat-jobs/${jobId}`)).chat_job;
    } catch {
      state.polls.set(jobId, setTimeout(tick, POLL_MS * 3));
      return;
    }
    const m = state.messages.find((x) => x.chat_job && x.chat_job.id === jobId);
    if (!m || !state.current || m.conversation_id !== state.current.id) { state.polls.delete(jobId); return; }
    m.chat_job = job;
    if (job.card) m.card = job.card;
    if (isFinal(job)) {
      state.polls.delete(jobId);
      // The final text and card are stored on the message: read the thread once more.
      const data = await api(`/api/chats/${state.current.id}/messages`).catch(() => null);
      if (data && state.current && data.chat.id === state.current.id) {
        state.messages = data.messages;
        state.current = data.chat;
        showTitle();
      }
      renderThread(false);
      loadBalances();
      loadChats();
      return;
    }
    renderThread(false);
    state.polls.set(jobId, setTimeout(tick, POLL_MS));
  };
  state.polls.set(jobId, setTimeout(tick, POLL_MS / 2));
}

/* ---------------------------------------------------------------------- */
/* Composer                                                                 */
/* ---------------------------------------------------------------------- */

function renderModes() {
  const el = root.querySelector('#chat-modes');
  el.innerHTML = MODES.map((m) => {
    const cost = m.render === null ? { generation: 0, render: 0 } : state.costs[m.id];
    const checked = state.mode === m.id;
    return `<label class="mode${checked ? ' selected' : ''}"><input type="radio" name="mode" value="${m.id}"${checked ? ' checked' : ''}>
      <span class="mode-name">${esc(m.label)}</span><span class="mode-cost long small">${esc(cost ? costText(cost) : '…')}</span>
      <span class="mode-cost short small">${esc(cost ? shortCost(cost) : '…')}</span></label>`;
  }).join('');
  for (const r of el.querySelectorAll('input[name="mode"]')) {
    r.addEventListener('change', () => { state.mode = r.value; renderModes(); updateNote(); });
  }
  updateNote();
}

function updateNote() {
  const note = root.querySelector('#chat-note');
  const input = root.querySelector('#chat-input');
  const b = state.balances;
  const bal = b ? ` · You have ${b.generation} generation and ${b.render} render credits.` : '';
  const project = state.current ? `Project: ${state.current.project_name}` : '';
  const hint = { chat: 'Free, never blocked by your balance.', generate_copy: 'Writes captions, hook and CTA for one channel.',
    generate_video: 'Writes the copy and renders a short video.' }[state.mode];
  note.textContent = `${project}${project ? ' · ' : ''}${hint}${state.mode === 'chat' ? '' : bal}`;
  input.placeholder = state.mode === 'chat' ? 'Ask anything about your business'
    : state.mode === 'generate_copy' ? 'e.g. Instagram caption for our weekend sale'
      : 'e.g. Generate a WhatsApp promo video for our weekend sale';
}

async function loadBalances() {
  try {
    const [copy, video] = await Promise.all([api('/api/create/cost?render=0'), api('/api/create/cost?render=1')]);
    state.costs.generate_copy = copy.total;
    state.costs.generate_video = video.total;
    state.balances = video.balances;
  } catch { /* costs stay "…" */ }
  renderModes();
}

async function send() {
  if (state.sending || !state.current) return;
  const input = root.querySelector('#chat-input');
  const content = input.value.trim();
  if (!content) return;
  state.sending = true;
  const button = root.querySelector('#chat-send');
  button.disabled = true;
  const requestId = 'msg-' + (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    const r = await api(`/api/chats/${state.current.id}/messages`, {
      method: 'POST', body: { mode: state.mode, content, request_id: requestId },
    });
    input.value = '';
    const a = r.assistant_message;
    a.chat_job = r.chat_job;
    state.messages.push(r.user_message, a);
    renderThread(true);
    if (!isFinal(r.chat_job)) poll(r.chat_job.id);
    if (!state.current.title) loadChats();
  } catch (e) {
    root.querySelector('#chat-note').textContent = e.message;
  } finally {
    state.sending = false;
    button.disabled = false;
  }
}

async function retry(jobId, button) {
  button.disabled = true;
  try {
    const r = await api(`/api/chat-jobs/${jobId}/retry`, { method: 'POST', body: {} });
    const m = state.messages.find((x) => x.chat_job && x.chat_job.id === jobId);
    if (m) { m.chat_job = r.chat_job; m.content = ''; }
    renderThread(false);
    if (!isFinal(r.chat_job)) poll(jobId);
  } catch (e) {
    button.disabled = false;
    root.querySelector('#chat-note').textContent = friendlyError(e, 'retry this').join(' ');
  }
}

/* ---------------------------------------------------------------------- */
/* Entry                                                                    */
/* ---------------------------------------------------------------------- */

async function openFromPath(path) {
  const m = /^\/app\/chats\/(\d+)\/?$/.exec(path);
  if (m) return openChat(Number(m[1]));
  if (state.chats.length) return openChat(state.chats[0].id); // the most recent, without changing the address
  stopPolls();
  showEmpty('No chats yet.');
}

function showTitle() {
  shell.setTitle(state.current.title || 'New chat', `${state.current.project_name} · chat with your business context`);
}

/** The studio shell's page for /app/chats and /app/chats/:id: run(view, ctx). */
export async function renderChats(view, ctx) {
  shell = ctx;
  const path = ctx.path;
  layout(view);
  const [projects] = await Promise.all([api('/api/projects').catch(() => ({ projects: [] })), loadChats()]);
  state.projects = (projects.projects || []).filter((p) => p.status !== 'archived');
  const sel = root.querySelector('#chat-project');
  sel.innerHTML = state.projects.map((p) => `<option value="${p.id}">${esc(p.name)}</option>`).join('');
  root.querySelector('#chat-project-field').hidden = state.projects.length < 2;
  renderModes();
  loadBalances();
  if (ctx.params.get('new') === '1' && state.projects.length) { // the command bar's "New chat"
    history.replaceState(null, '', '/app/chats');
    await newChat();
    return;
  }
  await openFromPath(path);
}
