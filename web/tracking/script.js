/*
 * ClipLoop site script (served as /api/tracking/script.js). Paste on your site:
 *
 *   <script src="https://YOUR-CLIPLOOP/api/tracking/script.js" data-key="clp_pk_…" async></script>
 *
 * On a landing page reached through a ClipLoop link it keeps the click id
 * (clp_click) in localStorage and in a first-party cookie (SameSite=Lax, 90
 * days). Report a conversion with
 *
 *   ClipLoopTracking.conversion({ eventType: 'signup', externalUserId: 'u_42', eventId: 'signup-u_42' })
 *
 * which posts to /api/track/conversion with the publishable key (the
 * project's allowed origins only). No dependencies, no other cookies.
 */
(function () {
  'use strict';
  var NAME = 'clp_click';
  var MAX_AGE = 90 * 24 * 3600;
  var script = document.currentScript;
  var key = (script && script.getAttribute('data-key')) || '';
  var api = '';
  try { api = new URL(script.src).origin; } catch (e) { api = ''; }

  function valid(id) { return typeof id === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(id); }

  function fromUrl() {
    try { return new URL(window.location.href).searchParams.get(NAME); } catch (e) { return null; }
  }

  function fromCookie() {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(NAME + '=') === 0) return decodeURIComponent(parts[i].slice(NAME.length + 1));
    }
    return null;
  }

  function fromStorage() {
    try {
      var v = JSON.parse(window.localStorage.getItem(NAME) || 'null');
      if (v && valid(v.id) && Date.now() - v.at < MAX_AGE * 1000) return v.id;
    } catch (e) { /* storage blocked or malformed */ }
    return null;
  }

  function remember(id) {
    try { window.localStorage.setItem(NAME, JSON.stringify({ id: id, at: Date.now() })); } catch (e) { /* blocked */ }
    document.cookie = NAME + '=' + encodeURIComponent(id) + '; Max-Age=' + MAX_AGE + '; Path=/; SameSite=Lax' +
      (window.location.protocol === 'https:' ? '; Secure' : '');
  }

  var landed = fromUrl();
  if (valid(landed)) remember(landed);

  function getClickId() {
    var id = fromStorage();
    if (!valid(id)) id = fromCookie();
    return valid(id) ? id : null;
  }

  function conversion(opts) {
    opts = opts || {};
    var body = { eventType: opts.eventType };
    var clickId = getClickId();
    if (clickId) body.clickId = clickId;
    if (opts.externalUserId != null) body.externalUserId = String(opts.externalUserId);
    if (opts.eventId != null) body.eventId = String(opts.eventId);
    if (opts.contentItemId != null) body.contentItemId = opts.contentItemId;
    return fetch(api + '/api/track/conversion?key=' + encodeURIComponent(key), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      keepalive: true,
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (j) {
        if (!r.ok) {
          var err = new Error((j && j.error && j.error.message) || ('HTTP ' + r.status));
          err.status = r.status;
          err.body = j;
          throw err;
        }
        return j;
      });
    });
  }

  window.ClipLoopTracking = { getClickId: getClickId, conversion: conversion, version: 1 };
})();
