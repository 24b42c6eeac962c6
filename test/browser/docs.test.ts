import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * /docs in a real browser (Debian's Chromium, driven by puppeteer-core: no browser download),
 * served by `wrangler dev` with its static assets, against the stand-ins (test/browser/global-setup.ts).
 * Any console error, page error, CSP violation, failed request or request leaving the origin fails
 * the test: the page must work offline under its CSP (docs/decisions/0018-docs-offline-under-csp.md).
 *
 * Without Chromium the tests are skipped with a message saying so, except when REQUIRE_BROWSER=1
 * (CI), where they fail.
 */
const target = inject('docsWorker');

interface Problems {
  list: string[];
}

/** Everything on the page that must not happen, collected as it happens. */
async function watch(page: Page, origin: string): Promise<Problems> {
  const problems: Problems = { list: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.list.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.list.push(`page error: ${String(error)}`));
  page.on('requestfailed', (request) =>
    problems.list.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  await page.exposeFunction('reportCspViolation', (violation: string) =>
    problems.list.push(`CSP violation: ${violation}`),
  );
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportCspViolation(v: string): void }).reportCspViolation(
        `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber}) ${event.sample}`,
      );
    });
  });
  // Offline: nothing may leave the origin (data: URLs never reach the network).
  await page.setRequestInterception(true);
  page.on('request', (request: HTTPRequest) => {
    if (request.isInterceptResolutionHandled()) return;
    const url = request.url();
    if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return void request.continue();
    problems.list.push(`request leaving the origin: ${url}`);
    return void request.abort('blockedbyclient');
  });
  return problems;
}

describe.skipIf(!target)('/docs in Chromium', () => {
  const worker = { url: target?.url ?? '' };
  let browser: Browser;

  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: target!.chromium,
      // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders every operation, and "Test Request" sends an authorised List tasks without example filters', async () => {
    // A user with one task, through the API.
    const registered = await fetch(`${worker.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `docs.${Date.now()}@example.com`,
        password: 'correct horse 42',
        full_name: 'Docs',
      }),
    });
    expect(registered.status).toBe(201);
    const { access_token: token } = (await registered.json()) as { access_token: string };
    const created = await fetch(`${worker.url}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: 'Read the docs' }),
    });
    expect(created.status).toBe(201);
    const openapi = (await (await fetch(`${worker.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary: string }>>;
    };
    const summaries = Object.values(openapi.paths).flatMap((item) => Object.values(item).map((op) => op.summary));

    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    // Generous: CI machines are shared, and Scalar renders 30 operations on first load.
    page.setDefaultTimeout(60_000);
    const problems = await watch(page, worker.url);
    const response = await page.goto(`${worker.url}/docs`, { waitUntil: 'networkidle0' });
    expect(response?.status()).toBe(200);

    // Every operation is in the sidebar.
    await page.waitForSelector('aside');
    const sidebar = await page.$eval('aside', (aside) => aside.innerText);
    expect(summaries.filter((summary) => !sidebar.includes(summary))).toEqual([]);
    expect(summaries.length).toBeGreaterThanOrEqual(30);

    // The token goes in the reference's Authentication section, then List tasks is sent from the
    // request client Scalar opens.
    const tokenInput = await page.waitForSelector('input[placeholder=Token]');
    await tokenInput!.type(token);
    await page.evaluate(() => {
      const item = [...document.querySelectorAll('aside *')].find(
        (e) => e.childElementCount === 0 && e.textContent?.trim() === 'List tasks',
      );
      ((item?.closest('a, button, [role=button], li') ?? item) as HTMLElement).click();
    });
    const testButton = (label: string) =>
      [...document.querySelectorAll('button')].find((b) => b.innerText.includes(label));
    await page.waitForFunction(testButton, {}, '(get /api/v1/tasks)');
    await page.evaluate((label) => {
      [...document.querySelectorAll('button')].find((b) => b.innerText.includes(label))!.click();
    }, '(get /api/v1/tasks)');
    // Scalar's request client: its Send button says, for screen readers, what it sends.
    const sendButton = () =>
      [...document.querySelectorAll('button')].find(
        (b) => b.textContent?.includes('Send get request') && (b as HTMLElement).offsetParent !== null,
      );
    await page.waitForFunction(sendButton);
    const sent = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/tasks' && r.method() === 'GET');
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/tasks');
    await page.evaluate(() => {
      [...document.querySelectorAll('button')]
        .find((b) => b.textContent?.includes('Send get request') && (b as HTMLElement).offsetParent !== null)!
        .click();
    });
    const [request, answer] = await Promise.all([sent, answered]);
    expect(request.headers().authorization).toBe(`Bearer ${token}`);
    // Examples are examples: no filter is sent until the user ticks it (the search, dates, status and
    // priority examples are marked x-disabled, decision 0018); only page and limit, which have defaults.
    const query = Object.fromEntries(new URL(request.url()).searchParams);
    expect(query).toEqual({ page: '1', limit: '20' });
    expect(answer.status()).toBe(200);
    const page1 = (await answer.json()) as { items: { title: string }[] };
    expect(page1.items.map((task) => task.title)).toEqual(['Read the docs']);

    await page.close();
    expect(problems.list).toEqual([]);
  });
});
