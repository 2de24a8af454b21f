import { html, SafeHtml } from './html.ts';

/** Turns an asset's name into its versioned URL, e.g. app.css → /static/app.css?v=1a2b3c4d5e6f. */
export type AssetUrl = (name: string) => string;

interface LayoutOptions {
  title: string;
  body: SafeHtml;
  scripts?: string[];
  /** The page's name, for CSS (`<body data-page=…>`) and tests. */
  page: string;
}

function layout(asset: AssetUrl, { title, body, scripts = [], page }: LayoutOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Scope as a Service</title>
<link rel="icon" href="${asset('favicon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${asset('app.css')}">
</head>
<body data-page="${page}">
<header class="topbar">
  <a class="brand" href="/"><img src="${asset('favicon.svg')}" alt="" width="24" height="24"> Scope as a Service</a>
  <nav><a href="/dashboard">Dashboard</a></nav>
</header>
<main>
${body}
</main>
<footer class="footer">A hosted map of your containers and processes, drawn by Weave Scope.</footer>
${scripts.map((s) => html`<script src="${asset(s)}" defer></script>\n`)}
</body>
</html>
`.value;
}

export function signupPage(asset: AssetUrl, opts: { email?: string; notice?: string; error?: string }): string {
  return layout(asset, {
    title: 'Sign up',
    page: 'signup',
    scripts: ['common.js', 'signup.js'],
    body: html`
<section class="hero">
  <h1>See your containers and processes on a live map</h1>
  <p class="lead">Run a small probe on your hosts; we draw what runs and who talks to whom, as it happens.</p>
</section>
<section class="card narrow">
  ${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ''}
  <h2>Sign up</h2>
  <form id="signup-form" method="post" action="/api/users/signup" novalidate>
    <label for="email">Email address</label>
    <input id="email" name="email" type="email" autocomplete="email" required placeholder="you@example.com" value="${opts.email ?? ''}">
    <p id="signup-error" class="error" role="alert" ${opts.error ? '' : new SafeHtml('hidden')}>${opts.error ?? ''}</p>
    <button id="signup-submit" type="submit" class="primary">Sign up</button>
  </form>
  <ol class="steps">
    <li>Sign up with your email address.</li>
    <li>Once we approve your account, we mail you a login link.</li>
    <li>Run the probe command from your dashboard and open your map.</li>
  </ol>
</section>`,
  });
}

export function signupDonePage(asset: AssetUrl, opts: { email?: string }): string {
  return layout(asset, {
    title: 'Check your mail',
    page: 'signup-done',
    body: html`
<section class="card narrow">
  <h1>Check your mail</h1>
  <p>${opts.email ? html`We sent a note to <strong id="signup-email">${opts.email}</strong>.` : 'We sent you a note.'}
  Once your account is approved you will get a second mail with a link that logs you in.</p>
  <p class="muted">Nothing arrived? Look in your spam folder, or <a href="/">sign up again</a> with the right address.</p>
</section>`,
  });
}

export function loginPage(asset: AssetUrl): string {
  return layout(asset, {
    title: 'Logging in',
    page: 'login',
    scripts: ['common.js', 'login.js'],
    body: html`
<section class="card narrow">
  <div id="login-progress">
    <h1><span class="spinner" aria-hidden="true"></span> Logging you in…</h1>
    <noscript><p class="error">This page needs JavaScript to log you in. Please enable it and open the link again.</p></noscript>
  </div>
  <div id="login-failed" hidden>
    <h1>We could not log you in</h1>
    <p id="login-error" class="error" role="alert"></p>
    <p><a id="signup-again" class="button primary" href="/">Sign up again</a></p>
    <p class="muted">Signing up again with the same address mails you a fresh login link once you are approved.</p>
  </div>
</section>`,
  });
}

export function dashboardPage(asset: AssetUrl): string {
  return layout(asset, {
    title: 'Dashboard',
    page: 'dashboard',
    scripts: ['common.js', 'dashboard.js'],
    body: html`
<section id="dashboard-loading" class="card"><p><span class="spinner" aria-hidden="true"></span> Loading your organisation…</p></section>
<section id="dashboard-error" class="card" hidden><h1>Something went wrong</h1><p id="dashboard-error-message" class="error" role="alert"></p><p><a href="/dashboard">Try again</a></p></section>
<div id="dashboard" hidden>
  <section class="org-header">
    <div>
      <p class="muted">Organisation</p>
      <h1 id="org-name"></h1>
      <p class="muted">Signed in as <span id="user-email"></span></p>
    </div>
    <div class="org-actions">
      <a id="map-link" class="button primary" href="#">Open the map</a>
      <button id="logout" type="button">Log out</button>
    </div>
  </section>

  <section class="card">
    <h2>Probe token</h2>
    <p class="muted">Probes send their reports with this token. Keep it secret, like a password.</p>
    <div class="copyable">
      <code id="probe-token"></code>
      <button type="button" class="copy" data-copy-from="probe-token">Copy</button>
    </div>
  </section>

  <section class="card">
    <h2>Run a probe</h2>
    <p>On the host you want to see, run our probe:</p>
    <div class="copyable">
      <code id="probe-command"></code>
      <button type="button" class="copy" data-copy-from="probe-command">Copy</button>
    </div>
    <p>or Weave Scope's own probe:</p>
    <div class="copyable">
      <code id="scope-command"></code>
      <button type="button" class="copy" data-copy-from="scope-command">Copy</button>
    </div>
  </section>

  <section class="card">
    <h2>Probes</h2>
    <p id="first-report" class="muted"></p>
    <p id="probes-empty" class="empty" hidden>No probes yet. Run one of the commands above; it shows up here within seconds.</p>
    <table id="probes-table" hidden>
      <thead><tr><th>Probe</th><th>Host</th><th>Last report</th></tr></thead>
      <tbody id="probes"></tbody>
    </table>
    <p id="probes-status" class="muted small" role="status"></p>
  </section>
</div>`,
  });
}

export function notFoundPage(asset: AssetUrl, path: string): string {
  return layout(asset, {
    title: 'Not found',
    page: 'not-found',
    body: html`
<section class="card narrow">
  <h1>Page not found</h1>
  <p>There is nothing at <code>${path}</code>.</p>
  <p><a href="/">Sign up</a> or go to your <a href="/dashboard">dashboard</a>.</p>
</section>`,
  });
}
