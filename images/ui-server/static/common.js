// Small helpers shared by the pages' scripts (loaded first, with `defer`).
'use strict';

window.saas = (() => {
  /** fetch + JSON, never throwing on an HTTP status: {status, body} (body null when not JSON). */
  async function requestJSON(url, options = {}) {
    const res = await fetch(url, {
      credentials: 'same-origin',
      ...options,
      headers: { accept: 'application/json', ...(options.headers || {}) },
    });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    return { status: res.status, body };
  }

  /** The message of a {"errors":[{"message"}]} body, or the fallback. */
  function errorMessage(body, fallback) {
    const first = body && Array.isArray(body.errors) ? body.errors[0] : null;
    const message = first && typeof first.message === 'string' && first.message ? first.message : fallback;
    return message.charAt(0).toUpperCase() + message.slice(1);
  }

  /** Copies text: the Clipboard API where allowed, else a hidden textarea and execCommand. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch {
        // fall through to the old way
      }
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.top = '-1000px';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }

  return { requestJSON, errorMessage, copyText };
})();
