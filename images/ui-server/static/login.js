// The page a login link opens: trades the link's email and token for a session, then opens the dashboard.
'use strict';

(async () => {
  const params = new URLSearchParams(window.location.search);
  const email = params.get('email') || '';
  const token = params.get('token') || '';

  function fail(message) {
    document.getElementById('login-progress').hidden = true;
    document.getElementById('login-failed').hidden = false;
    document.getElementById('login-error').textContent = message;
    if (email) document.getElementById('signup-again').href = `/?email=${encodeURIComponent(email)}`;
    // The token is spent or useless now; keep it out of the address bar and history.
    window.history.replaceState(null, '', '/login');
  }

  if (!email || !token) {
    fail('This login link is incomplete. Open the whole link from your mail, or copy it into the address bar in one piece.');
    return;
  }
  try {
    const query = new URLSearchParams({ email, token }).toString();
    const { status, body } = await window.saas.requestJSON(`/api/users/login?${query}`);
    if (status === 200) {
      window.location.replace('/dashboard');
      return;
    }
    if (status === 429) fail(window.saas.errorMessage(body, 'Too many login attempts; wait a minute and open the link again.'));
    else fail(window.saas.errorMessage(body, `Login failed (HTTP ${status}).`));
  } catch {
    fail('Could not reach the server. Check your connection and open the link again.');
  }
})();
