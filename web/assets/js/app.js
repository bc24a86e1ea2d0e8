// The studio shell: marks the current section and shows the server's health.
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
