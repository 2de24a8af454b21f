// The dashboard: who you are, your probe token, how to run a probe against this very site, the probes seen.
'use strict';

(() => {
  const { requestJSON, errorMessage, copyText } = window.saas;
  const $ = (id) => document.getElementById(id);
  const PROBES_EVERY_MS = 4000;

  function toLogin() {
    window.location.replace('/?session=expired');
  }

  function showError(message) {
    $('dashboard-loading').hidden = true;
    $('dashboard').hidden = true;
    $('dashboard-error').hidden = false;
    $('dashboard-error-message').textContent = message;
  }

  /** `host:port` of this site, with the port spelled out (Scope's probe assumes 4040 otherwise). */
  function hostWithPort() {
    const port = window.location.port || (window.location.protocol === 'https:' ? '443' : '80');
    return `${window.location.hostname}:${port}`;
  }

  function ago(date) {
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 5) return 'just now';
    if (seconds < 90) return `${seconds} s ago`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 90) return `${minutes} min ago`;
    const hours = Math.round(minutes / 60);
    if (hours < 36) return `${hours} h ago`;
    return date.toLocaleString();
  }

  function renderProbes(probes) {
    const tbody = $('probes');
    tbody.replaceChildren();
    for (const probe of probes) {
      const seen = new Date(probe.lastSeen);
      const row = document.createElement('tr');
      const idCell = document.createElement('td');
      const dot = document.createElement('span');
      const stale = Number.isNaN(seen.getTime()) || Date.now() - seen.getTime() > 60_000;
      dot.className = stale ? 'dot stale' : 'dot';
      const id = document.createElement('code');
      id.textContent = String(probe.id);
      idCell.append(dot, id);
      const hostCell = document.createElement('td');
      hostCell.textContent = probe.hostname ? String(probe.hostname) : '—';
      const seenCell = document.createElement('td');
      seenCell.textContent = Number.isNaN(seen.getTime()) ? String(probe.lastSeen) : ago(seen);
      if (!Number.isNaN(seen.getTime())) seenCell.title = seen.toLocaleString();
      row.append(idCell, hostCell, seenCell);
      tbody.append(row);
    }
    $('probes-table').hidden = probes.length === 0;
    $('probes-empty').hidden = probes.length !== 0;
  }

  async function refreshProbes(org) {
    const status = $('probes-status');
    try {
      const res = await requestJSON(`/api/org/${encodeURIComponent(org)}/probes`);
      if (res.status === 401) return toLogin();
      if (res.status === 200 && Array.isArray(res.body)) {
        renderProbes(res.body);
        status.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every few seconds.`;
      } else if (res.status === 404 || res.status === 502 || res.status === 503) {
        renderProbes([]);
        status.textContent = 'The map service is not available yet; retrying…';
      } else {
        status.textContent = `Could not load probes: ${errorMessage(res.body, `HTTP ${res.status}`)}; retrying…`;
      }
    } catch {
      status.textContent = 'Could not reach the server; retrying…';
    }
    window.setTimeout(() => refreshProbes(org), PROBES_EVERY_MS);
  }

  function wireCopyButtons() {
    for (const button of document.querySelectorAll('button.copy')) {
      button.addEventListener('click', async () => {
        const source = $(button.dataset.copyFrom);
        const ok = await copyText(source.textContent);
        if (!ok) {
          // Leave the text selected so Ctrl+C / ⌘C does it.
          window.getSelection().selectAllChildren(source);
        }
        button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
        button.classList.toggle('copied', ok);
        window.setTimeout(() => {
          button.textContent = 'Copy';
          button.classList.remove('copied');
        }, 2000);
      });
    }
  }

  async function logout() {
    try {
      await requestJSON('/api/users/logout', { method: 'POST' });
    } finally {
      window.location.assign('/?session=logged-out');
    }
  }

  async function main() {
    let me;
    try {
      me = await requestJSON('/api/users/lookup');
    } catch {
      return showError('Could not reach the server. Check your connection and reload the page.');
    }
    if (me.status === 401) return toLogin();
    if (me.status !== 200 || !me.body) return showError(errorMessage(me.body, `Could not load your account (HTTP ${me.status}).`));

    const orgName = me.body.organizationName;
    const org = await requestJSON(`/api/users/org/${encodeURIComponent(orgName)}`);
    if (org.status === 401) return toLogin();
    if (org.status !== 200 || !org.body) return showError(errorMessage(org.body, `Could not load your organisation (HTTP ${org.status}).`));

    const token = org.body.probeToken;
    $('org-name').textContent = org.body.name;
    $('user-email').textContent = me.body.email;
    $('probe-token').textContent = token;
    $('probe-command').textContent = `npx dev probe --token ${token} ${window.location.origin}`;
    $('scope-command').textContent = `scope launch --service-token=${token} ${hostWithPort()}`;
    $('map-link').href = `/api/app/${encodeURIComponent(org.body.name)}/`;
    const first = org.body.firstProbeUpdateAt;
    $('first-report').textContent = first
      ? `First report received ${new Date(first).toLocaleString()}.`
      : 'No report received yet.';
    $('logout').addEventListener('click', logout);
    wireCopyButtons();

    $('dashboard-loading').hidden = true;
    $('dashboard').hidden = false;
    document.title = `${org.body.name} · Scope as a Service`;
    refreshProbes(org.body.name);
  }

  main();
})();
