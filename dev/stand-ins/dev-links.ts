/**
 * What the links in development emails open. In production they open the client app (APP_URL),
 * which reads the token and calls the API; locally there is no client app, so `npm run dev` points
 * APP_URL here: a page that shows the token, the exact request that redeems it (curl), and a button
 * that sends that request from the browser (the Worker allows loopback origins in development).
 * Served by the stand-ins, which already hold the outbox, so the Worker has no development-only
 * route and its OpenAPI document stays what production serves.
 */

export interface DevLinkPage {
  status: number;
  html: string;
}

const PAGES = {
  '/_dev/verify-email': {
    title: 'Confirm your email address',
    path: '/api/v1/auth/verify-email',
    body: (token: string) => ({ token }),
    button: 'Verify now',
  },
  '/_dev/reset-password': {
    title: 'Choose a new password',
    path: '/api/v1/auth/reset-password',
    body: (token: string) => ({ token, new_password: 'a new password 42' }),
    button: 'Reset the password',
  },
} as const;

export function isDevLink(pathname: string): boolean {
  return pathname.startsWith('/_dev/');
}

/** The page for a link of a development email, or 404 for anything else. */
export function devLinkPage(url: URL, apiUrl: string): DevLinkPage {
  const page = PAGES[url.pathname as keyof typeof PAGES];
  const token = url.searchParams.get('token') ?? '';
  if (!page)
    return { status: 404, html: layout('Not found', `<p>No development page at ${escape(url.pathname)}.</p>`) };
  if (!/^[A-Za-z0-9_-]{10,100}$/.test(token)) {
    return { status: 400, html: layout(page.title, '<p>This link has no valid <code>token</code>.</p>') };
  }
  const endpoint = `${apiUrl.replace(/\/$/, '')}${page.path}`;
  const body = JSON.stringify(page.body(token));
  const curl = `curl -s ${endpoint} -H 'content-type: application/json' -d '${body}'`;
  const content = `
<p>In production this link opens the client app (<code>APP_URL</code>), which sends the request below.
Locally, <code>npm run dev</code> serves this page instead.</p>
<p>Token: <code id="token">${escape(token)}</code></p>
<p>The request to send:</p>
<pre id="curl">${escape(curl)}</pre>
${
  page.path.endsWith('reset-password')
    ? '<p><label>New password <input id="password" type="password" minlength="10" value="a new password 42"></label></p>'
    : ''
}
<p><button id="send">${page.button}</button></p>
<pre id="result"></pre>
<script>
  document.getElementById('send').addEventListener('click', async () => {
    const body = ${body};
    const password = document.getElementById('password');
    if (password) body.new_password = password.value;
    const out = document.getElementById('result');
    try {
      const res = await fetch(${JSON.stringify(endpoint)}, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      out.textContent = res.status + ' ' + (await res.text());
    } catch (error) {
      out.textContent = 'The API did not answer: ' + error;
    }
  });
</script>`;
  return { status: 200, html: layout(`${page.title} (development)`, content) };
}

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}pre{white-space:pre-wrap;word-break:break-all;background:#f3f4f6;padding:.75rem}</style>
</head><body><h1>${escape(title)}</h1>${content}</body></html>`;
}

function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
