import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';

/**
 * The generated document checked against the OpenAPI 3.1 specification by a maintained validator
 * (schema, duplicate operationIds, parameter rules). It runs in Node: the validator compiles JSON
 * schemas to code, which workerd forbids.
 */
async function generatedDocument(): Promise<Record<string, unknown>> {
  const res = await createApp().request('https://edgetask.test/openapi.json', {}, {});
  expect(res.status).toBe(200);
  return res.json();
}

describe('the generated OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const doc = await generatedDocument();
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, compileErrors(result)).toBe(true);
  });

  it('documents problem+json for every error status of every operation', async () => {
    const doc = (await generatedDocument()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 400 && !response.content?.['application/problem+json'])
            missing.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('response schemas', () => {
  it('forbid members they do not declare, at every depth', async () => {
    const doc = (await generatedDocument()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
      >;
      components: { schemas: Record<string, unknown> };
    };
    const open: string[] = [];
    const seen = new Set<unknown>();
    const visit = (schema: unknown, where: string): void => {
      if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
      seen.add(schema);
      const node = schema as Record<string, unknown>;
      if (typeof node.$ref === 'string') {
        const name = node.$ref.replace('#/components/schemas/', '');
        return visit(doc.components.schemas[name], name);
      }
      if (node.allOf) open.push(`${where}: allOf cannot forbid undeclared members (spread the shapes instead)`);
      if (node.type === 'object' && node.additionalProperties !== false) open.push(`${where}: not closed`);
      for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, unknown>))
        visit(child, `${where}.${key}`);
      visit(node.items, `${where}[]`);
      for (const member of [...((node.anyOf ?? []) as unknown[]), ...((node.oneOf ?? []) as unknown[])])
        visit(member, where);
    };
    for (const [path, operations] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(operations))
        for (const [status, response] of Object.entries(operation.responses))
          for (const [media, { schema }] of Object.entries(response.content ?? {}))
            visit(schema, `${method} ${path} ${status} ${media}`);
    expect(open).toEqual([]);
  });
});
