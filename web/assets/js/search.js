// search.js — the command bar in the top bar: runs commands (New promo,
// New chat, This week, Projects, Settings, Manual queue, Sign out) and
// searches the user's projects, outputs (content items) and chats as they
// type. Outputs are searched on the server (GET /api/content-items?q=: the
// prompt, hook, caption and CTA as well as the title) and shown with their
// project and date; chats match on titles and messages (GET /api/chats?q=).
// "/" or Ctrl/⌘-K focuses it from anywhere; ↑/↓ move, Enter opens or runs,
// Escape closes. Projects and chat titles load on first use.
import { api, esc } from './api.js';
import { channelLabel, friendlyError, outputMeta } from './ui.js';

let index = null; // Promise<{rows: [{group, label, detail, href, text}], projects: Map<id, name>, active}>

/* The commands, found by typing any word of their name or keywords. */
function commands(active) {
  const go = (label, href, words, detail = '') => ({ group: 'Commands', label, detail, href, text: `${label} ${words}` });
  const list = [
    go('New promo', '/app/create', 'create video post make generate'),
    go('New chat', '/app/chats?new=1', 'conversation ask talk message'),
  ];
  if (active) list.push(go('This week', `/app/projects/${active.id}/weeks/current`, 'week pack plan schedule calendar', active.name));
  list.push(go('Projects', '/app/projects', 'business brands'),
    go('Settings', '/dashboard/settings', 'account plan credits billing transactions'),
    go('Manual queue', '/dashboard/manual-queue', 'post export queue'),
    { group: 'Commands', label: 'Sign out', detail: '', href: '#sign-out', text: 'Sign out log out logout exit', run: 'sign-out' });
  return list;
}

function loadIndex() {
  if (index) return index;
  index = Promise.all([api('/api/projects'), api('/api/chats')]).then(([p, ch]) => {
    const rows = [];
    const projects = new Map();
    for (const x of p.projects || []) {
      projects.set(x.id, x.name);
      rows.push({ group: 'Projects', label: x.name, detail: [x.category, x.city].filter(Boolean).join(' · '),
        href: `/app/projects/${x.id}`, text: [x.name, x.business_name, x.category, x.city].join(' ') });
    }
    const chats = ch.chats;
    for (const x of chats) {
      rows.push({ group: 'Chats', label: x.title || `Chat ${x.id}`, detail: x.project_name || '', href: `/app/chats/${x.id}`, text: String(x.title || '') });
    }
    const list = p.projects || [];
    const active = list.find((x) => x.status === 'active') || list[0];
    return { rows: commands(active).concat(rows), projects };
  }).catch((e) => { index = null; throw e; });
  return index;
}

const GROUPS = ['Commands', 'Projects', 'Outputs', 'Chats'];

/** Wire the command bar: input is the search field, list the results listbox. */
export function mountSearch(input, list) {
  let shown = [];
  let active = -1;

  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); active = -1; };
  const highlight = () => {
    list.querySelectorAll('a[role="option"]').forEach((a, i) => a.setAttribute('aria-selected', String(i === active)));
    if (active >= 0) input.setAttribute('aria-activedescendant', `search-opt-${active}`);
    else input.removeAttribute('aria-activedescendant');
  };

  async function update() {
    const q = input.value.trim().toLowerCase();
    if (!q) { close(); return; }
    let idx;
    try { idx = await loadIndex(); } catch (e) {
      list.innerHTML = `<li class="none">${esc(friendlyError(e, 'search')[0])} ${esc(friendlyError(e, 'search')[1])}</li>`;
      list.hidden = false;
      return;
    }
    if (input.value.trim().toLowerCase() !== q) return; // typed on meanwhile
    const words = q.split(/\s+/);
    const local = idx.rows.filter((r) => words.every((w) => r.text.toLowerCase().includes(w)));
    // Outputs (prompt, hook, caption, CTA) and chats (titles and messages) are searched on the server.
    const text = encodeURIComponent(input.value.trim());
    const [outs, found] = await Promise.all([
      api(`/api/content-items?q=${text}&limit=6`).catch(() => null),
      api(`/api/chats?q=${text}&limit=5`).catch(() => null),
    ]);
    if (input.value.trim().toLowerCase() !== q) return;
    const seen = new Set(local.map((r) => r.href));
    const more = [];
    for (const x of outs ? outs.items : []) {
      more.push({ group: 'Outputs', label: x.title || 'Untitled promo', href: `/app/create?item=${x.id}`, text: '',
        detail: [outputMeta(x, idx.projects.get(x.project_id)), channelLabel(x.channel)].filter(Boolean).join(' · ') });
    }
    for (const x of found ? found.chats : []) {
      const href = `/app/chats/${x.id}`;
      if (!seen.has(href)) more.push({ group: 'Chats', label: x.title || `Chat ${x.id}`, detail: 'mentions it', href, text: '' });
    }
    shown = local.concat(more).sort((a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group)).slice(0, 14);
    active = shown.length ? 0 : -1;
    let html = '';
    let group = '';
    shown.forEach((r, i) => {
      if (r.group !== group) { group = r.group; html += `<li class="group" role="presentation">${esc(group)}</li>`; }
      html += `<li role="presentation"><a role="option" id="search-opt-${i}" href="${esc(r.href)}"${r.run ? ` data-run="${esc(r.run)}"` : ''}><span>${esc(r.label)}</span><span class="muted small">${esc(r.detail)}</span></a></li>`;
    });
    list.innerHTML = html || `<li class="none">Nothing matches “${esc(input.value.trim())}”.</li>`;
    list.hidden = false;
    list.dataset.q = q; // the query these results answer
    input.setAttribute('aria-expanded', 'true');
    highlight();
  }

  const choose = (r) => {
    if (r.run === 'sign-out') { close(); document.querySelector('[data-sign-out]')?.click(); return; }
    location.assign(r.href);
  };
  list.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-run]');
    if (!a) return;
    e.preventDefault();
    choose({ run: a.dataset.run });
  });
  let typing = 0; // one server search once typing pauses, not one per keystroke
  input.addEventListener('input', () => {
    clearTimeout(typing);
    if (!input.value.trim()) close(); else typing = setTimeout(update, 120);
  });
  input.addEventListener('focus', () => { loadIndex().catch(() => {}); if (input.value.trim()) update(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && shown.length) { e.preventDefault(); active = (active + 1) % shown.length; highlight(); }
    else if (e.key === 'ArrowUp' && shown.length) { e.preventDefault(); active = (active - 1 + shown.length) % shown.length; highlight(); }
    else if (e.key === 'Enter' && active >= 0 && !list.hidden) { e.preventDefault(); choose(shown[active]); }
    else if (e.key === 'Escape') { close(); input.blur(); }
  });
  document.addEventListener('click', (e) => { if (!e.target.closest('.search')) close(); });
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if ((e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey)
      || (e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey))) {
      e.preventDefault();
      input.focus();
      input.select();
    }
  });
}
