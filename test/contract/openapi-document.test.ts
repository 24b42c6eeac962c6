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
