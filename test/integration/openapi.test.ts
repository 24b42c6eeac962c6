import { beforeAll, describe, expect, it } from 'vitest';
import { DOCS_SCRIPT } from '../../src/app.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, { responses: Record<string, unknown>; tags?: string[] }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  tags: { name: string }[];
}

describe('the OpenAPI document', () => {
  let app: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    app = await setupTestApp();
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = await res.json<OpenApiDocument>();
  });

  it('is OpenAPI 3.1 with servers, a bearer scheme and tags', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('edgetask API');
    expect(doc.servers[0]?.url).toBe('https://edgetask.test');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(doc.tags.map((t) => t.name)).toContain('Health');
  });

  it('describes the health routes with their statuses and the problem schema', () => {
    expect(Object.keys(doc.paths['/health']?.get?.responses ?? {})).toEqual(['200', '500']);
    expect(Object.keys(doc.paths['/health/ready']?.get?.responses ?? {})).toEqual(['200', '500', '503']);
    expect(doc.components.schemas.Problem).toBeDefined();
  });
});

describe('GET /docs', () => {
  it('serves the interactive reference pointing at the document', async () => {
    const app = await setupTestApp();
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/openapi.json');
    // The script comes from this Worker (a static asset), not a CDN, and runs by the CSP's nonce.
    expect(html).toContain(`<script src="${DOCS_SCRIPT}" nonce="`);
    expect(html).not.toMatch(/https:\/\/cdn\./);
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonce).toBeTruthy();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
    expect(scripts).toHaveLength(2);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  });
});
