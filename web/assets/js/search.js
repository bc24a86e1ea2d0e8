// search.js — the command bar in the top bar: searches the user's projects,
// outputs (content items) and chats as they type. "/" or Ctrl/⌘-K focuses
// it from anywhere; ↑/↓ move, Enter opens, Escape closes. The data loads on
// first use, not on every page; chats are optional (a server without the
// chat routes answers 404, which simply means "no chats").
import { api, esc } from './api.js';
import { channelLabel, friendlyError } from './ui.js';

let index = null; // Promise<[{group, label, detail, href, text}]>

async function optional(path) {
  try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
}

function loadIndex() {
  if (index) return index;
  index = Promise.all([api('/api/projects'), api('/api/content-items?limit=50'), optional('/api/chats')]).then(([p, c, ch]) => {
    const rows = [];
    for (const x of p.projects || []) {
      rows.push({ group: 'Projects', label: x.name, detail: [x.category, x.city].filter(Boolean).join(' · '),
        href: `/app/projects/${x.id}`, text: [x.name, x.business_name, x.category, x.city].join(' ') });
    }
    for (const x of c.items || []) {
      rows.push({ group: 'Outputs', label: x.title || 'Untitled promo', detail: channelLabel(x.channel),
        href: `/app/create?item=${x.id}`, text: [x.title, x.channel, x.draft?.caption, x.draft?.hook].join(' ') });
    }
    const chats = ch ? (Array.isArray(ch) ? ch : ch.chats || ch.items || []) : [];
    for (const x of chats) {
      rows.push({ group: 'Chats', label: x.title || `Chat ${x.id}`, detail: '', href: `/app/chats/${x.id}`, text: String(x.title || '') });
    }
    return rows;
  }).catch((e) => { index = null; throw e; });
  return index;
}

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
    let rows;
    try { rows = await loadIndex(); } catch (e) {
      list.innerHTML = `<li class="none">${esc(friendlyError(e, 'search')[0])} ${esc(friendlyError(e, 'search')[1])}</li>`;
      list.hidden = false;
      return;
    }
    if (input.value.trim().toLowerCase() !== q) return; // typed on meanwhile
    const words = q.split(/\s+/);
    const local = rows.filter((r) => words.every((w) => r.text.toLowerCase().includes(w)));
    // Chats also match on what was said in them: ask the server (titles and messages).
    let found = null;
    try { found = await optional('/api/chats?q=' + encodeURIComponent(input.value.trim()) + '&limit=5'); } catch { /* titles only */ }
    if (input.value.trim().toLowerCase() !== q) return;
    const seen = new Set(local.map((r) => r.href));
    const more = [];
    for (const x of found ? (Array.isArray(found) ? found : found.chats || found.items || []) : []) {
      const href = `/app/chats/${x.id}`;
      if (!seen.has(href)) more.push({ group: 'Chats', label: x.title || `Chat ${x.id}`, detail: 'mentions it', href, text: '' });
    }
    shown = local.concat(more).sort((a, b) => ['Projects', 'Outputs', 'Chats'].indexOf(a.group) - ['Projects', 'Outputs', 'Chats'].indexOf(b.group)).slice(0, 12);
    active = shown.length ? 0 : -1;
    let html = '';
    let group = '';
    shown.forEach((r, i) => {
      if (r.group !== group) { group = r.group; html += `<li class="group" role="presentation">${esc(group)}</li>`; }
      html += `<li role="presentation"><a role="option" id="search-opt-${i}" href="${esc(r.href)}"><span>${esc(r.label)}</span><span class="muted small">${esc(r.detail)}</span></a></li>`;
    });
    list.innerHTML = html || `<li class="none">Nothing matches “${esc(input.value.trim())}”.</li>`;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    highlight();
  }

  input.addEventListener('input', update);
  input.addEventListener('focus', () => { loadIndex().catch(() => {}); if (input.value.trim()) update(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && shown.length) { e.preventDefault(); active = (active + 1) % shown.length; highlight(); }
    else if (e.key === 'ArrowUp' && shown.length) { e.preventDefault(); active = (active - 1 + shown.length) % shown.length; highlight(); }
    else if (e.key === 'Enter' && active >= 0 && !list.hidden) { e.preventDefault(); location.assign(shown[active].href); }
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
