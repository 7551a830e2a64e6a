import { HtmlPage, htmlPage } from './html-page';
import { PASSWORD_POLICY } from '../../contracts/accounts';

/**
 * GET /sdk: the consumer client's demo page (issue 15, item 5). One self-contained HTML page that
 * loads the client from `sdk.js` next to it (the same origin, no CDN) and walks a visitor through
 * self-service: register, confirm with the emailed code, sign in, create a key (shown once), call
 * `GET /v1/usage` and the demo routes with the key or the session, and watch the remaining quota
 * (from the answers' `RateLimit` headers, `client.quota`) and any 429 with its retry time.
 *
 * Plain HTML with labels, visible focus and live regions; its inline script and style are allowed
 * by their SHA-256 in the Content-Security-Policy, and scripts otherwise only from its own origin
 * (`/sdk.js`), as the reference page (reference-page.ts). Tested in chromium (test/client/sdk-demo-page.test.ts).
 */

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { background: #1d2330; color: #fff; padding: 1rem 2rem; }
header p { margin: .25rem 0 0; color: #c9d1e0; }
header a { color: #93c5fd; }
main { max-width: 52rem; padding: 1rem 2rem 3rem; }
section { background: #fff; border: 1px solid #dde2ea; border-radius: 6px; padding: .75rem 1.25rem 1rem; margin-top: 1rem; }
h2 { font-size: 17px; margin: .25rem 0 .5rem; }
label { display: block; margin: .5rem 0 .15rem; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { font: inherit; padding: .35rem .5rem; width: min(100%, 24rem); border: 1px solid #8a94a6; border-radius: 4px; }
button { font: inherit; margin: .6rem .5rem 0 0; padding: .35rem .9rem; border: 1px solid #1d4ed8; background: #1d4ed8; color: #fff; border-radius: 4px; cursor: pointer; }
button:disabled { background: #94a3b8; border-color: #94a3b8; cursor: default; }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
fieldset { border: 1px solid #dde2ea; border-radius: 4px; margin: .5rem 0; }
fieldset label { display: inline; font-weight: normal; margin-right: 1rem; }
pre { background: #f1f3f7; padding: .6rem; border-radius: 4px; overflow: auto; font-size: 12px; max-height: 20rem; }
#quota { font: 600 16px ui-monospace, monospace; }
#error { color: #b91c1c; font-weight: 600; }
.note { color: #5b6474; font-size: 14px; }
`;

const SCRIPT = `
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  const errorBox = $('error');
  const baseUrl = new URL('.', location.href).href;
  const sdk = window.UsageTrackerClient;
  let session;
  const keyClients = new Map();
  function say(text) { errorBox.textContent = ''; status.textContent = text; }
  function fail(error) {
    status.textContent = '';
    if (error instanceof sdk.RateLimitedError) {
      errorBox.textContent = 'Rate limited (' + (error.policy || 'limit') + '): retry in ' + (error.retryAfterMs / 1000).toFixed(1) + ' s.';
      errorBox.dataset.retryAfterMs = String(error.retryAfterMs);
    } else if (error instanceof sdk.ApiError) {
      const body = error.body && typeof error.body === 'object' ? error.body : {};
      errorBox.textContent = error.status + (error.error ? ' ' + error.error : '') + ': ' + (body.message || error.message);
    } else {
      errorBox.textContent = error && error.message ? error.message : String(error);
    }
    errorBox.dataset.error = error && error.name ? error.name : 'Error';
  }
  function showQuota(quota) {
    const box = $('quota');
    const limit = quota.limit === undefined ? '' : ' of ' + quota.limit;
    box.textContent = quota.policy + ': ' + quota.remaining + limit + ' requests left, all back in ' + quota.resetSeconds + ' s';
    box.dataset.remaining = String(quota.remaining);
    const meter = $('quota-meter');
    if (quota.limit !== undefined) meter.max = quota.limit;
    meter.value = quota.remaining;
  }
  const settings = { onRateLimit: 'throw', onQuota: showQuota };
  async function run(button, action) {
    button.disabled = true;
    try { await action(); } catch (error) { fail(error); } finally { button.disabled = false; }
  }
  function onSubmit(formId, action) {
    const form = $(formId);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void run(form.querySelector('button'), action);
    });
  }
  onSubmit('register-form', async () => {
    const email = $('register-email').value;
    const answer = await sdk.ApiClient.register(baseUrl, email, $('register-password').value, settings);
    $('confirm-email').value = email;
    $('login-email').value = email;
    say(answer.message);
    $('confirm-code').focus();
  });
  onSubmit('confirm-form', async () => {
    await sdk.ApiClient.confirm(baseUrl, $('confirm-email').value, $('confirm-code').value, settings);
    say('Account confirmed: sign in.');
    $('login-password').focus();
  });
  onSubmit('login-form', async () => {
    const client = new sdk.ApiClient(Object.assign({ baseUrl, email: $('login-email').value, password: $('login-password').value }, settings));
    const me = await client.me();
    session = client;
    $('account').textContent = 'Signed in as ' + me.email + ' (tenant ' + me.tenantId + ', ' + me.tier + ' tier).';
    $('key-form').querySelector('button').disabled = false;
    $('logout').disabled = false;
    $('use-session').disabled = false;
    say('Signed in.');
    $('key-name').focus();
  });
  onSubmit('key-form', async () => {
    if (!session) throw new Error('Sign in first.');
    const created = await session.createKey($('key-name').value);
    $('new-key').value = created.apiKey;
    $('api-key').value = created.apiKey;
    $('new-key-note').textContent = created.note;
    say('Key ' + created.prefix + '… created: copy it now, it is shown once.');
    $('new-key').focus();
  });
  $('logout').addEventListener('click', () => void run($('logout'), async () => {
    if (session) await session.logout();
    session = undefined;
    $('account').textContent = 'Signed out.';
    $('logout').disabled = true;
    $('use-session').disabled = true;
    $('use-key').checked = true;
    say('Signed out: the refresh token is revoked.');
  }));
  function callingClient() {
    if ($('use-session').checked) {
      if (!session) throw new Error('Sign in first, or call with a key.');
      return session;
    }
    const apiKey = $('api-key').value.trim();
    if (!apiKey) throw new Error('Enter an API key, or create one above.');
    if (!keyClients.has(apiKey)) keyClients.set(apiKey, new sdk.ApiClient(Object.assign({ baseUrl, apiKey }, settings)));
    return keyClients.get(apiKey);
  }
  document.querySelectorAll('button[data-call]').forEach((button) => {
    button.addEventListener('click', () => void run(button, async () => {
      const route = button.dataset.call;
      const result = $('result');
      result.textContent = '';
      const answer = await callingClient()[route]();
      result.textContent = JSON.stringify(answer, null, 2);
      result.dataset.route = route;
      say(button.textContent + ' answered.');
    }));
  });
  if (!sdk) fail(new Error('The client (sdk.js) did not load.'));
  else document.body.dataset.ready = 'true';
})();
`;

/** The page's body (a function, so that a bundle that never builds the page drops it: `PASSWORD_POLICY` is read when it is built). */
const body = () => `
<header><h1>Consumer client demo</h1>
<p>Sign up, get a key and call the API with the browser client (<code>/sdk.js</code>). The reference is at <a href="docs">/docs</a>.</p></header>
<main>
<p id="status" role="status" aria-live="polite"></p>
<p id="error" role="alert"></p>
<section aria-labelledby="quota-title"><h2 id="quota-title">Remaining quota</h2>
<p id="quota" aria-live="polite" aria-atomic="true">No answer yet.</p>
<meter id="quota-meter" min="0" max="1" value="0" aria-labelledby="quota-title"></meter></section>
<section aria-labelledby="register-title"><h2 id="register-title">1. Create an account</h2>
<form id="register-form"><label for="register-email">Email</label><input id="register-email" type="email" autocomplete="email" required>
<label for="register-password">Password</label><input id="register-password" type="password" autocomplete="new-password" required minlength="${PASSWORD_POLICY.minLength}" aria-describedby="password-rule">
<p id="password-rule" class="note">At least ${PASSWORD_POLICY.minLength} characters, with upper and lower case letters, a digit and a symbol.</p>
<button type="submit">Register</button></form></section>
<section aria-labelledby="confirm-title"><h2 id="confirm-title">2. Confirm with the emailed code</h2>
<form id="confirm-form"><label for="confirm-email">Email</label><input id="confirm-email" type="email" autocomplete="email" required>
<label for="confirm-code">Code</label><input id="confirm-code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required>
<button type="submit">Confirm</button></form>
<p>No code? Register again with the same address: a new one is sent.</p></section>
<section aria-labelledby="login-title"><h2 id="login-title">3. Sign in</h2>
<form id="login-form"><label for="login-email">Email</label><input id="login-email" type="email" autocomplete="email" required>
<label for="login-password">Password</label><input id="login-password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
<p id="account"></p><button id="logout" type="button" disabled>Sign out</button></section>
<section aria-labelledby="key-title"><h2 id="key-title">4. Create an API key</h2>
<form id="key-form"><label for="key-name">Key name</label><input id="key-name" type="text" value="demo" required>
<button type="submit" disabled>Create key</button></form>
<label for="new-key">Your new key (shown once)</label><input id="new-key" type="text" readonly aria-describedby="new-key-note">
<p id="new-key-note" class="note"></p></section>
<section aria-labelledby="call-title"><h2 id="call-title">5. Call the API</h2>
<fieldset><legend>Call with</legend>
<input id="use-key" type="radio" name="credential" value="key" checked><label for="use-key">an API key</label>
<input id="use-session" type="radio" name="credential" value="session" disabled><label for="use-session">the session</label></fieldset>
<label for="api-key">API key</label><input id="api-key" type="text" autocomplete="off" spellcheck="false">
<div><button type="button" data-call="usage">GET /v1/usage</button><button type="button" data-call="users">GET /v1/users</button><button type="button" data-call="products">GET /v1/products</button></div>
<h3>Answer</h3><pre id="result" aria-live="polite"></pre></section>
</main>`;

/** The page, and the headers it must be served with. */
export type SdkDemoPage = HtmlPage;

/**
 * The demo page and its headers (see {@link htmlPage}): its inline script and style by hash, and
 * `sdk.js` of its own origin.
 */
export function sdkDemoPage(): SdkDemoPage {
  return htmlPage({ title: 'API client demo', style: STYLE, body: body(), script: SCRIPT, scriptFiles: ['sdk.js'] });
}
