// The studio shell: requires a session (else the log-in page), sends
// waitlisted accounts to the waitlist, marks the current section, shows the
// server's health, and renders the sections that exist.
import { loadMe, signOut } from './api.js';
import { renderSettings } from './settings.js';
import { mountProjects } from './projects.js';

const sections = {
  '/app': 'Home', '/app/create': 'Create', '/app/chats': 'Chats', '/app/projects': 'Projects',
  '/dashboard/manual-queue': 'Manual queue', '/dashboard/settings': 'Settings',
};

function currentSection(path) {
  const keys = Object.keys(sections).sort((a, b) => b.length - a.length);
  return keys.find((k) => path === k || path.startsWith(k + '/')) || '/app';
}

const key = currentSection(location.pathname);
document.getElementById('title').textContent = sections[key];
document.getElementById('section').textContent = sections[key];
for (const a of document.querySelectorAll('.nav-item')) {
  if (a.getAttribute('href') === key) a.setAttribute('aria-current', 'page');
}

const badge = document.getElementById('health');
fetch('/healthz').then(async (r) => {
  badge.textContent = r.ok ? 'All systems normal' : 'Database unavailable';
  badge.className = 'badge ' + (r.ok ? 'ok' : 'error');
}).catch(() => { badge.textContent = 'Server unreachable'; });

const me = await loadMe().catch(() => null);
if (!me) {
  location.replace('/login.html?next=' + encodeURIComponent(location.pathname + location.search));
} else if (!me.access.product && key !== '/dashboard/settings') {
  location.replace('/waitlist.html');
} else {
  const account = document.getElementById('account');
  account.hidden = false;
  account.querySelector('[data-email]').textContent = me.user.email;
  account.querySelector('[data-plan]').textContent = me.plan.label;
  account.querySelector('[data-sign-out]').addEventListener('click', signOut);
  if (key === '/dashboard/settings') {
    document.getElementById('placeholder').remove();
    const view = document.createElement('div');
    view.className = 'stack';
    view.id = 'settings';
    document.getElementById('view').append(view);
    renderSettings(view, me);
  }
  mountProjects(location.pathname); // projects, project detail, onboarding (projects.js)
}
