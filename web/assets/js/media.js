// media.js — a project's media library and brand kit (/app/projects/<id>/media,
// docs/media.md): upload images, music and fonts (drag and drop, or the
// phone's camera roll) with per-file progress, keep or discard the images
// found on the website, and set the brand kit (logo, up to 3 colours taken by
// hand or from the logo or website, heading and body fonts with a preview,
// logo placement).
import { api, esc, currentCsrf } from './api.js';
import { errorBlock, emptyState, progress, statusBlock } from './ui.js';

const MAX_BYTES = 20 * 1024 * 1024;
const PLACEMENTS = [['top-right', 'Top right'], ['top-left', 'Top left'], ['top', 'Top'], ['bottom', 'Bottom'], ['none', 'No logo']];

const mb = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`);
/** WCAG contrast ratio of two #RRGGBB colours. */
function contrast(a, b) {
  const lum = (hex) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
const secs = (ms) => `${Math.floor(ms / 60000)}:${String(Math.round(ms / 1000) % 60).padStart(2, '0')}`;

/** Upload one file as the raw request body, reporting progress; resolves with the JSON answer. */
export function uploadFile(projectId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/projects/${projectId}/media`);
    xhr.setRequestHeader('x-filename', encodeURIComponent(file.name || 'upload'));
    if (currentCsrf()) xhr.setRequestHeader('x-csrf-token', currentCsrf());
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON (a proxy's page) */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject({ status: xhr.status, code: body?.error?.code || 'http_error', message: body?.error?.message || `The upload failed (HTTP ${xhr.status})` });
    };
    xhr.onerror = () => reject({ status: 0, code: 'network', message: 'The connection was lost during the upload.' });
    xhr.send(file);
  });
}

/** A calm sentence for a refused upload. */
export function uploadError(e) {
  switch (e.code) {
    case 'unsupported_media_type': return 'This file is not an image, audio or font we can read.';
    case 'file_too_large': return 'This file is larger than 20 MB.';
    case 'image_too_large': return e.message;
    case 'media_quota_reached': return e.message;
    case 'network': return 'The connection was lost. Try again.';
    default: return e.status === 413 ? 'This file is larger than 20 MB.' : (e.message || 'The upload failed.');
  }
}

function tileFor(m, actions) {
  const media = m.kind === 'image'
    ? `<img src="${esc(m.url)}" alt="${esc(m.filename)}" loading="lazy" width="${m.width}" height="${m.height}">`
    : m.kind === 'audio'
      ? `<div class="no-preview"><span>♪ ${secs(m.duration_ms || 0)}</span></div>`
      : `<div class="no-preview font-sample" data-font-url="${esc(m.url)}" data-font-id="media:${m.id}"><span>Aa</span></div>`;
  return `<li class="media-tile" data-media="${m.id}">
    <div class="media-thumb">${media}</div>
    <div class="tile-body"><div class="tile-title" title="${esc(m.filename)}">${esc(m.filename)}</div>
      <div class="small muted">${m.kind === 'image' ? `${m.width}×${m.height}` : m.kind} · ${mb(m.bytes)}</div>
      ${m.kind === 'audio' ? `<audio controls preload="none" src="${esc(m.url)}"></audio>` : ''}
      <div class="cluster mt-xs">${actions}</div></div></li>`;
}

/** Load a font file once as a FontFace for previews; resolves with the CSS family name. */
const loadedFonts = new Map();
function fontFamily(id, url) {
  if (!loadedFonts.has(id)) {
    const family = `cl-${id.replace(/[^a-z0-9]/gi, '-')}`;
    const face = new FontFace(family, `url(${url})`);
    loadedFonts.set(id, face.load().then((f) => { document.fonts.add(f); return family; }).catch(() => 'inherit'));
  }
  return loadedFonts.get(id);
}

export async function renderMediaPage(view, ctx, projectId) {
  view.innerHTML = '<p class="muted">Loading media…</p>';
  let project;
  try { project = await api(`/api/projects/${projectId}`); } catch (e) {
    view.innerHTML = e.status === 404
      ? `<section class="card empty"><p>This project does not exist or is not yours.</p><p><a class="button" href="/app/projects">Back to projects</a></p></section>`
      : errorBlock(e, 'load this project', '<a class="button secondary small" href="">Reload</a>');
    return;
  }
  ctx.setTitle(`Media · ${project.name}`, 'Your photos, music, fonts and brand kit for this project\'s videos');
  view.innerHTML = `<p><a class="muted" href="/app/projects/${projectId}">← ${esc(project.name)}</a></p>
    <section class="card stack" aria-labelledby="up-h">
      <div class="row"><h2 id="up-h">Add media</h2><span class="small muted" data-quota></span></div>
      <label class="dropzone" data-drop>
        <input type="file" accept="image/*,audio/*,.ttf,.otf" multiple class="visually-hidden" data-file>
        <strong>Drop photos, music or fonts here</strong>
        <span class="muted">or <span class="link">choose files</span> — on a phone, from your camera roll</span>
        <span class="small muted">Up to 20 MB a file · JPEG, PNG, WebP, GIF · MP3, M4A, WAV, Ogg, FLAC · TTF, OTF</span>
      </label>
      <ul class="list" data-uploads aria-live="polite"></ul>
    </section>
    <section class="card stack" aria-labelledby="sug-h" data-suggested-card><h2 id="sug-h">From your website</h2><div data-suggested>${'<p class="muted">Loading…</p>'}</div></section>
    <section class="card stack" aria-labelledby="lib-h"><h2 id="lib-h">Library</h2><div data-library><p class="muted">Loading…</p></div></section>
    <section class="card stack" aria-labelledby="kit-h" data-kit-card><h2 id="kit-h">Brand kit</h2><div data-kit><p class="muted">Loading…</p></div></section>`;

  const $ = (s) => view.querySelector(s);
  let media = [];
  let fonts = [];
  let kit = null;

  async function loadMedia() {
    try {
      const r = await api(`/api/projects/${projectId}/media`);
      media = r.media;
      const q = r.quota;
      $('[data-quota]').textContent = `${mb(q.used_bytes)} of ${mb(q.max_bytes)} · ${q.used_files} of ${q.max_files} files on ${q.plan}`;
      drawMedia();
    } catch (e) { $('[data-library]').innerHTML = errorBlock(e, 'load your media', '<button class="button secondary small" data-reload>Try again</button>'); }
  }

  function drawMedia() {
    const suggested = media.filter((m) => m.status === 'suggested');
    const kept = media.filter((m) => m.status === 'kept');
    $('[data-suggested]').innerHTML = suggested.length
      ? `<p class="small muted">Images found on ${esc(project.website_url || 'your website')}. Keep the ones your videos may use.</p>
         <ul class="media-grid">${suggested.map((m) => tileFor(m, `<button class="button small" data-keep="${m.id}">Keep</button>
           <button class="button secondary small" data-discard="${m.id}">Discard</button>`)).join('')}</ul>`
      : emptyState('No website images waiting', project.website_url
        ? 'Product and hero photos from your website show up here after it is read.'
        : 'Add your website to the project and its product photos show up here.',
      `<a class="button secondary small" href="/app/projects/${projectId}">${project.website_url ? 'Read my website' : 'Add my website'}</a>`);
    $('[data-library]').innerHTML = kept.length
      ? `<ul class="media-grid">${kept.map((m) => tileFor(m, `${m.kind === 'image' ? `<button class="button secondary small" data-logo="${m.id}">Use as logo</button>` : ''}
           <button class="button secondary small danger" data-delete="${m.id}" aria-label="Delete ${esc(m.filename)}">Delete</button>`)).join('')}</ul>`
      : emptyState('No media yet', 'Add photos of your products or shop, a music track, or your brand font.',
        '<button class="button small" data-pick>Choose files</button>');
    for (const el of view.querySelectorAll('.font-sample[data-font-url]')) {
      fontFamily(el.dataset.fontId, el.dataset.fontUrl).then((f) => { el.style.fontFamily = f; });
    }
    if (kit) drawKit();
  }

  /* ---- uploads ---- */
  const list = $('[data-uploads]');
  async function send(files) {
    const jobs = [...files].map((file) => {
      const li = document.createElement('li');
      li.innerHTML = `<div class="grow"><div class="tile-title">${esc(file.name)}</div><div class="small muted" data-state>${mb(file.size)} · waiting</div>
        <div data-bar>${progress(0, `Uploading ${file.name}`)}</div></div>`;
      list.prepend(li);
      return { file, li };
    });
    for (const { file, li } of jobs) { // one at a time: a phone's uplink is narrow
      const state = li.querySelector('[data-state]');
      const bar = li.querySelector('[data-bar]');
      if (file.size > MAX_BYTES) {
        bar.innerHTML = statusBlock('error', '', 'This file is larger than 20 MB. Pick a smaller one.');
        state.textContent = 'Not uploaded';
        continue;
      }
      state.textContent = `${mb(file.size)} · uploading`;
      try {
        const r = await uploadFile(projectId, file, (f) => { bar.innerHTML = progress(f * 100, `Uploading ${file.name}`); if (f >= 1) state.textContent = `${mb(file.size)} · checking`; });
        bar.innerHTML = '';
        state.innerHTML = `<span class="badge ok">${r.duplicate ? 'Already in your library' : 'Added'}</span> ${esc(r.media.kind)}${r.media.width ? ` · ${r.media.width}×${r.media.height}` : ''}`;
      } catch (e) {
        state.textContent = 'Not uploaded';
        bar.innerHTML = statusBlock('error', '', uploadError(e));
      }
    }
    loadMedia();
  }
  const input = $('[data-file]');
  input.addEventListener('change', () => { if (input.files.length) send(input.files); input.value = ''; });
  const drop = $('[data-drop]');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files.length) send(e.dataTransfer.files); });

  /* ---- actions on media ---- */
  view.addEventListener('click', async (ev) => {
    const t = ev.target.closest('button');
    if (!t) return;
    if (t.matches('[data-pick]')) { input.click(); return; }
    if (t.matches('[data-reload]')) { loadMedia(); return; }
    const act = t.dataset.keep ? ['keep', t.dataset.keep] : t.dataset.discard ? ['discard', t.dataset.discard] : null;
    try {
      if (act) {
        t.disabled = true;
        await api(`/api/projects/${projectId}/media/${act[1]}/${act[0]}`, { method: 'POST', body: {} });
        await loadMedia();
      } else if (t.dataset.delete) {
        const m = media.find((x) => String(x.id) === t.dataset.delete);
        if (!confirm(`Delete ${m ? m.filename : 'this file'}? Videos already made keep it.`)) return;
        await api(`/api/projects/${projectId}/media/${t.dataset.delete}`, { method: 'DELETE' });
        kit = (await api(`/api/projects/${projectId}/brand-kit`)).brand_kit;
        await loadMedia();
      } else if (t.dataset.logo) {
        kit = (await api(`/api/projects/${projectId}/brand-kit`, { method: 'PUT', body: { logo_media_id: Number(t.dataset.logo) } })).brand_kit;
        drawKit();
        $('[data-kit-card]').scrollIntoView({ behavior: 'smooth', block: 'start' });
      }
    } catch (e) {
      t.disabled = false;
      t.closest('.media-tile, section')?.insertAdjacentHTML('beforeend', errorBlock(e, 'change this file'));
    }
  });

  /* ---- brand kit ---- */
  function fontOptions(selected) {
    const bundled = fonts.filter((f) => f.installed).map((f) => `<option value="${esc(f.id)}"${f.id === selected ? ' selected' : ''}>${esc(f.label)}</option>`).join('');
    const uploaded = media.filter((m) => m.kind === 'font' && m.status === 'kept')
      .map((m) => `<option value="media:${m.id}"${`media:${m.id}` === selected ? ' selected' : ''}>${esc(m.filename)} (yours)</option>`).join('');
    return `<optgroup label="Included fonts">${bundled}</optgroup>${uploaded ? `<optgroup label="Your fonts">${uploaded}</optgroup>` : ''}`;
  }
  function fontUrl(id) {
    if (id.startsWith('media:')) return `/api/media/${id.slice(6)}/file`;
    return fonts.find((f) => f.id === id)?.url;
  }
  function previewFonts() {
    const form = $('[data-kit-form]');
    if (!form) return;
    for (const [sel, el] of [['heading_font', '[data-preview-heading]'], ['body_font', '[data-preview-body]']]) {
      const id = form.elements[sel].value;
      const url = fontUrl(id);
      if (url) fontFamily(id, url).then((f) => { const p = form.querySelector(el); if (p) p.style.fontFamily = f; });
    }
    // the preview: the first colour as background, text in white or black (whichever reads), the second colour on the heading when it reads too
    const colors = readColors(form);
    const pv = form.querySelector('[data-preview]');
    const bg = colors[0] || '#16161A';
    const text = contrast(bg, '#FFFFFF') >= contrast(bg, '#16161A') ? '#FFFFFF' : '#16161A';
    pv.style.background = bg;
    pv.style.color = text;
    form.querySelector('[data-preview-heading]').style.color = colors[1] && contrast(bg, colors[1]) >= 3 ? colors[1] : text;
  }
  function swatches(colors) {
    return [0, 1, 2].map((i) => {
      const c = colors[i];
      return `<div class="swatch"><input type="color" value="${esc(c || '#FFFFFF')}" data-color${c ? '' : ' data-unset'} aria-label="Colour ${i + 1}">
        <span class="small mono">${c ? esc(c) : 'not set'}</span>${c ? `<button type="button" class="link small" data-clear-color="${i}">Remove</button>` : ''}</div>`;
    }).join('');
  }
  function drawKit() {
    const images = media.filter((m) => m.kind === 'image' && m.status === 'kept');
    const logo = kit.logo;
    $('[data-kit]').innerHTML = `<form class="stack" data-kit-form novalidate>
      <div class="kit-grid">
        <div class="stack">
          <div class="field"><span>Logo</span>
            <div class="cluster">${logo ? `<img class="kit-logo" src="${esc(logo.url)}" alt="Logo: ${esc(logo.filename)}">` : '<span class="muted small">No logo yet</span>'}
            <select class="input fit-content" name="logo_media_id" aria-label="Logo image"><option value="">No logo</option>
              ${images.map((m) => `<option value="${m.id}"${logo && logo.id === m.id ? ' selected' : ''}>${esc(m.filename)}</option>`).join('')}</select></div>
            ${images.length ? '' : '<span class="field-hint">Upload your logo above, then pick it here.</span>'}
            <span class="field-error" data-error="logo_media_id"></span></div>
          <fieldset class="field plain"><legend>Logo placement</legend><div class="chips">${PLACEMENTS.map(([v, l]) =>
            `<label class="chip"><input type="radio" name="logo_placement" value="${v}"${kit.logo_placement === v ? ' checked' : ''}> ${l}</label>`).join('')}</div>
            <span class="field-error" data-error="logo_placement"></span></fieldset>
          <div class="field"><span>Colours <span class="muted">(up to 3)</span></span>
            <div class="cluster" data-swatches>${swatches(kit.colors)}</div>
            <div class="cluster"><button type="button" class="button secondary small" data-take="logo">Take from logo</button>
              <button type="button" class="button secondary small" data-take="website">Take from website</button></div>
            <div data-take-status></div>
            <span class="field-error" data-error="colors"></span></div>
        </div>
        <div class="stack">
          <label class="field">Heading font<select class="input" name="heading_font">${fontOptions(kit.heading_font)}</select>
            <span class="field-error" data-error="heading_font"></span></label>
          <label class="field">Body font<select class="input" name="body_font">${fontOptions(kit.body_font)}</select>
            <span class="field-error" data-error="body_font"></span></label>
          <div class="kit-preview" data-preview aria-label="Preview">
            <p class="kit-preview-heading" data-preview-heading>${esc(project.primary_offer || project.name)}</p>
            <p data-preview-body>${esc(project.business_name || project.name)} — ${esc(project.cta || 'Order today')}</p></div>
        </div>
      </div>
      <div class="row"><span data-kit-status></span><button class="button" type="submit">Save brand kit</button></div></form>`;
    const form = $('[data-kit-form]');
    previewFonts();
    form.addEventListener('input', previewFonts);
    form.addEventListener('change', (e) => {
      if (e.target.matches('[data-color]')) {
        e.target.removeAttribute('data-unset');
        e.target.nextElementSibling.textContent = e.target.value.toUpperCase();
      }
      previewFonts();
    });
    form.addEventListener('click', async (e) => {
      const clear = e.target.closest('[data-clear-color]');
      if (clear) {
        const colors = readColors(form).filter((_, i) => i !== Number(clear.dataset.clearColor));
        form.querySelector('[data-swatches]').innerHTML = swatches(colors);
        previewFonts();
        return;
      }
      const take = e.target.closest('[data-take]');
      if (!take) return;
      const st = form.querySelector('[data-take-status]');
      take.disabled = true;
      try {
        const body = { from: take.dataset.take };
        if (take.dataset.take === 'logo' && form.elements.logo_media_id.value) body.logo_media_id = Number(form.elements.logo_media_id.value);
        const r = await api(`/api/projects/${projectId}/brand-kit/colors`, { method: 'POST', body });
        form.querySelector('[data-swatches]').innerHTML = swatches(r.colors);
        st.innerHTML = statusBlock('ok', '', `Took ${r.colors.length} colour${r.colors.length === 1 ? '' : 's'} from your ${take.dataset.take}. Save to keep them.`);
        previewFonts();
      } catch (err) {
        st.innerHTML = err.code === 'no_logo' ? statusBlock('warn', '', 'Pick a logo first.')
          : err.code === 'no_website_colors' ? statusBlock('warn', '', 'No colours were found on your website yet. Read it from the project page, or pick colours by hand.')
            : errorBlock(err, 'take the colours');
      } finally { take.disabled = false; }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      for (const el of form.querySelectorAll('[data-error]')) el.textContent = '';
      const st = form.querySelector('[data-kit-status]');
      const body = {
        logo_media_id: form.elements.logo_media_id.value ? Number(form.elements.logo_media_id.value) : null,
        colors: readColors(form),
        heading_font: form.elements.heading_font.value,
        body_font: form.elements.body_font.value,
        logo_placement: form.querySelector('[name=logo_placement]:checked')?.value || 'top-right',
      };
      try {
        kit = (await api(`/api/projects/${projectId}/brand-kit`, { method: 'PUT', body })).brand_kit;
        drawKit();
        $('[data-kit-status]').innerHTML = '<span class="badge ok">Saved</span>';
      } catch (err) {
        for (const [k, msg] of Object.entries(err.fields || {})) {
          const el = form.querySelector(`[data-error="${k}"]`);
          if (el) el.textContent = msg;
        }
        st.innerHTML = Object.keys(err.fields || {}).length ? '' : errorBlock(err, 'save the brand kit');
      }
    });
  }
  function readColors(form) {
    return [...form.querySelectorAll('[data-color]:not([data-unset])')].map((i) => i.value.toUpperCase());
  }

  try {
    const [f, k] = await Promise.all([api('/api/fonts'), api(`/api/projects/${projectId}/brand-kit`)]);
    fonts = f.fonts;
    kit = k.brand_kit;
  } catch (e) { $('[data-kit]').innerHTML = errorBlock(e, 'load the brand kit'); }
  await loadMedia();
}
