import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { register, uniqueEmail } from '../helpers/auth.ts';
import { BASE } from '../helpers/constants.ts';
import { json, setupTestApp } from '../helpers/test-app.ts';

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type',
  },
});

describe('CORS for local web apps', () => {
  it('development allows loopback origins on any port without CORS_ORIGINS', async () => {
    const app = await setupTestApp({ env: { APP_ENV: 'development', CORS_ORIGINS: '' } });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080', 'http://localhost']) {
      const res = await app.request('/api/v1/tasks', preflight(origin));
      expect(res.status, origin).toBe(204);
      expect(res.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      const get = await app.request('/health', { headers: { origin } });
      expect(get.headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
  });

  it('development still refuses other origins, look-alikes included', async () => {
    const app = await setupTestApp({ env: { APP_ENV: 'development', CORS_ORIGINS: '' } });
    for (const origin of ['https://evil.example.com', 'http://localhost.evil.com', 'http://127.0.0.1.nip.io', 'null']) {
      const res = await app.request('/api/v1/tasks', preflight(origin));
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('production keeps the explicit list: a preflight from http://localhost:5173 gets no allowance', async () => {
    const app = await setupTestApp({ env: { APP_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' } });
    const refused = await app.request('/api/v1/tasks', preflight('http://localhost:5173'));
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await app.request('/api/v1/tasks', preflight('https://app.example.com'));
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });
});

/** The text of an HTML element by id, entities decoded (enough for what the dev page escapes). */
function elementText(html: string, id: string): string {
  const raw = new RegExp(`<[a-z]+ id="${id}">([^<]*)<`).exec(html)?.[1] ?? '';
  return raw
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

describe('the links in development emails', () => {
  // As `npm run dev` sets it: the links open the stand-ins' development pages.
  const devLinks = { APP_URL: `${env.STANDINS_NEON_URL}/_dev` };

  it('the verification link opens a page with the token and the exact request; sending it verifies', async () => {
    const app = await setupTestApp({ env: devLinks });
    const email = uniqueEmail('devlink');
    const user = await register(app, { email });
    const text = (await app.outbox(email)).at(-1)?.text ?? '';
    const link = /https?:\/\/\S+\/_dev\/verify-email\?token=\S+/.exec(text)?.[0];
    expect(link, text).toBeDefined();

    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const token = new URL(link!).searchParams.get('token')!;
    expect(elementText(html, 'token')).toBe(token);
    const curl = elementText(html, 'curl');
    expect(curl).toBe(
      `curl -s ${BASE}/api/v1/auth/verify-email -H 'content-type: application/json' -d '{"token":"${token}"}'`,
    );

    // Send exactly what the page says.
    const [, url, body] = /^curl -s (\S+) -H 'content-type: application\/json' -d '(.*)'$/.exec(curl)!;
    const res = await app.request(url!, json(JSON.parse(body!)));
    expect(res.status).toBe(200);
    const rows = await app.sql`select email_verified_at is not null as verified from users where id = ${user.userId}`;
    expect(rows[0]?.verified).toBe(true);
  });

  it('the reset link opens a page with the token and the reset request', async () => {
    const app = await setupTestApp({ env: devLinks });
    const email = uniqueEmail('devreset');
    await register(app, { email });
    expect((await app.request('/api/v1/auth/forgot-password', json({ email }))).status).toBe(202);
    const text = (await app.outbox(email)).find((m) => m.kind === 'password-reset')?.text ?? '';
    const link = /https?:\/\/\S+\/_dev\/reset-password\?token=\S+/.exec(text)?.[0];
    expect(link, text).toBeDefined();
    const html = await (await fetch(link!)).text();
    const curl = elementText(html, 'curl');
    expect(curl).toContain(`${BASE}/api/v1/auth/reset-password`);
    const [, url, body] = /^curl -s (\S+) -H 'content-type: application\/json' -d '(.*)'$/.exec(curl)!;
    const res = await app.request(url!, json(JSON.parse(body!)));
    expect(res.status).toBe(204);
    const login = await app.request('/api/v1/auth/login', json({ email, password: 'a new password 42' }));
    expect(login.status).toBe(200);
  });

  it('a link without a valid token says so (400), an unknown page is 404', async () => {
    expect((await fetch(`${env.STANDINS_NEON_URL}/_dev/verify-email`)).status).toBe(400);
    expect((await fetch(`${env.STANDINS_NEON_URL}/_dev/elsewhere?token=abcdefghijkl`)).status).toBe(404);
  });
});
