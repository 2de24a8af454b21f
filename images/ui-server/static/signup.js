// The sign-up form: posts {email} as JSON and goes on to "check your mail"; without JS the form posts itself.
'use strict';

(() => {
  const form = document.getElementById('signup-form');
  const input = document.getElementById('email');
  const error = document.getElementById('signup-error');
  const submit = document.getElementById('signup-submit');

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    const email = input.value.trim();
    if (!email) return showError('Please enter your email address.');
    if (!input.checkValidity()) return showError('That does not look like an email address.');

    submit.disabled = true;
    submit.textContent = 'Signing up…';
    try {
      const { status, body } = await window.saas.requestJSON('/api/users/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      if (status >= 200 && status < 300) {
        window.location.assign(`/signup/done?email=${encodeURIComponent(email)}`);
        return;
      }
      if (status === 429) showError(window.saas.errorMessage(body, 'Too many attempts; please wait a minute and try again.'));
      else showError(window.saas.errorMessage(body, `Sign-up failed (HTTP ${status}). Please try again.`));
    } catch {
      showError('Could not reach the server. Check your connection and try again.');
    }
    submit.disabled = false;
    submit.textContent = 'Sign up';
  });
})();
