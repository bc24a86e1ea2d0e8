// app.js — the studio shell: requires a session (else the log-in page),
// sends waitlisted accounts to the waitlist, runs the page for
// location.pathname from the route table below, and wires the shared chrome
// (sidebar/drawer, the command bar, server health and the "Mock LLM" badge).
//
// Adding a page is one line in `routes`:
//   { path: '/app/x', title: 'X', page: () => import('./x.js'), run: 'renderX' },
// The module's export `run` is called as run(view, ctx) where view is an
// empty element under the page heading and ctx = { me, path, params,
// setTitle(title, subtitle?), actions } (actions: the heading's button row);
// it may return 'redirected' after sending the browser elsewhere.
import { api, loadMe, maybeSignedIn, signOut } from './api.js';
import { mountSearch } from './search.js';
import { errorBlock } from './ui.js';

/*
 * path: exact path; prefix: also matches path/...; nav: which sidebar item is
 * current (default path); waitlistOk: shown to waitlisted accounts too.
 */
const routes = [
  { path: '/app', title: 'Home', page: () => import('./dashboard.js'), run: 'renderDashboard' },
  { path: '/app/create', title: 'Create', page: () => import('./create.js'), run: 'renderCreate' },
  { path: '/app/chats', title: 'Chats', prefix: true, page: () => import('./chat.js'), run: 'renderChats' },
  { path: '/app/performance', title: 'Performance', prefix: true, nav: '/app/projects', page: () => import('./performance.js'), run: 'renderPerformancePage' },
  { path: '/app/projects', title: 'Projects', prefix: true, page: () => import('./projects.js'), run: 'mountProjectsPage' },
  { path: '/app/onboarding', title: 'Set up your business', nav: '', page: () => import('./projects.js'), run: 'mountProjectsPage' },
  { path: '/dashboard/manual-queue', title: 'Manual queue', page: () => import('./manual-queue.js'), run: 'renderManualQueue' },
  { path: '/dashboard/settings', title: 'Settings', waitlistOk: true, page: () => import('./settings.js'), run: 'renderSettingsPage' },
];

/** The route for path (longest match first), or null. */
function findRoute(path) {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const sorted = [...routes].sort((a, b) => b.path.length - a.path.length);
  return sorted.find((r) => p === r.path || (r.prefix && p.startsWith(r.path + '/')))
    || (p === '/dashboard' ? routes[0] : null);
}

const titleEl = document.getElementById('title');
const subtitleEl = document.getElementById('subtitle');
const actionsEl = document.getElementById('page-actions');

function setTitle(title, subtitle) {
  titleEl.textContent = title;
  document.title = `${title} — ClipLoop`;
  subtitleEl.textContent = subtitle || '';
  subtitleEl.hidden = !subtitle;
}

/* ---------------------------------------------------------------- chrome */

function markNav(route) {
  const key = route ? (route.nav ?? route.path) : null;
  for (const a of document.querySelectorAll('.sidebar .nav-item')) {
    if (a.getAttribute('href') === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function setUpDrawer() {
  const button = document.getElementById('menu-button');
  const scrim = document.getElementById('scrim');
  const sidebar = document.getElementById('sidebar');
  const phone = matchMedia('(max-width: 860px)');
  // A closed drawer is off screen: keep its links out of the tab order.
  const focusable = () => {
    const reachable = !phone.matches || document.body.classList.contains('drawer-open');
    for (const el of sidebar.querySelectorAll('a, button')) {
      if (reachable) el.removeAttribute('tabindex'); else el.setAttribute('tabindex', '-1');
    }
  };
  const set = (open) => {
    document.body.classList.toggle('drawer-open', open);
    button.setAttribute('aria-expanded', String(open));
    button.setAttribute('aria-label', open ? 'Close menu' : 'Open menu');
    focusable();
    if (open) sidebar.querySelector('.nav-item')?.focus();
  };
  button.addEventListener('click', () => set(!document.body.classList.contains('drawer-open')));
  scrim.addEventListener('click', () => set(false));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('drawer-open')) { set(false); button.focus(); }
  });
  phone.addEventListener('change', () => set(false));
  focusable();
}

function showHealth() {
  const badge = document.getElementById('health');
  const text = badge.querySelector('[data-health-text]');
  return fetch('/healthz').then(async (r) => {
    await r.json().catch(() => null); // read the body, so the request completes
    text.textContent = r.ok ? 'All systems normal' : 'Database unavailable';
    badge.className = 'badge ' + (r.ok ? 'ok' : 'error');
  }).catch(() => { text.textContent = 'Server unreachable'; badge.className = 'badge error'; });
}

function showMockBadge() {
  return api('/api/version').then((v) => {
    document.getElementById('mock-badge').hidden = v.llm_provider !== 'mock';
  }).catch(() => { /* no badge */ });
}

/* ---------------------------------------------------------------- start */

const route = findRoute(location.pathname);
// The page's module and the user are fetched side by side, not one after the other.
// Signed out (no hint cookie) the shell goes to log in: nothing to fetch then.
const pageModule = route && maybeSignedIn() ? route.page() : null;
pageModule?.catch(() => { /* reported where it is awaited */ });
markNav(route);
setUpDrawer();
setTitle(route ? route.title : 'Not found');

const me = await loadMe().catch(() => null);
if (!me) {
  location.replace('/login.html?next=' + encodeURIComponent(location.pathname + location.search));
} else if (!me.access.product && me.user.email_verified === false && me.mail && me.mail.enabled) {
  // An unconfirmed address: an invitation or a plan waits for the link.
  location.replace('/verify-email.html');
} else if (!me.access.product && !(route && route.waitlistOk)) {
  location.replace('/waitlist.html');
} else {
  const account = document.getElementById('account');
  account.hidden = false;
  account.querySelector('[data-email]').textContent = me.user.email;
  account.querySelector('[data-plan]').textContent = me.plan.label;
  account.querySelector('[data-sign-out]').addEventListener('click', signOut);
  // Mock mode keeps account mail in an outbox: the nav shows where.
  document.getElementById('nav-mail-log').hidden = !(me.mail && me.mail.mail_log);
  if (me.access.product) mountSearch(document.getElementById('search-input'), document.getElementById('search-results'));

  const view = document.createElement('div');
  view.className = 'stack loose';
  view.id = 'page';
  // The placeholder stays until the page can draw its first layout in the same
  // task: swapping it for an empty view first would paint a jump (layout shift).
  const show = () => document.getElementById('placeholder')?.replaceWith(view);
  const ctx = { me, path: location.pathname, params: new URLSearchParams(location.search), setTitle, actions: actionsEl };
  let outcome = null;
  if (!route) {
    show();
    view.innerHTML = `<section class="card empty"><strong>There is no page here.</strong>
      <span>The address may be mistyped, or the page moved.</span><a class="button" href="/app">Go to the studio</a></section>`;
  } else {
    try {
      const mod = await (pageModule || route.page());
      show();
      outcome = await mod[route.run](view, ctx);
    } catch (err) {
      show();
      showHealth();
      view.innerHTML = errorBlock(err, 'open this page', '<a class="button secondary small" href="">Reload</a>');
      throw err;
    }
  }
  // After the page ran, so a page that redirects (e.g. to onboarding) leaves no request behind.
  if (outcome !== 'redirected') {
    // body[data-ready] tells tests (and nothing else) that the chrome settled.
    Promise.allSettled([showHealth(), showMockBadge()]).then(() => { document.body.dataset.ready = '1'; });
  }
}
