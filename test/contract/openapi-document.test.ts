import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import * as accountRoutes from '../../src/features/account/account.routes.ts';
import * as batchRoutes from '../../src/features/batch/batch.routes.ts';
import * as authRoutes from '../../src/features/auth/auth.routes.ts';
import * as categoriesRoutes from '../../src/features/categories/categories.routes.ts';
import * as healthRoutes from '../../src/features/health/health.routes.ts';
import * as tasksRoutes from '../../src/features/tasks/tasks.routes.ts';

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
    type Response = { content?: Record<string, unknown>; $ref?: string };
    const doc = (await generatedDocument()) as {
      paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
      components: { responses?: Record<string, Response> };
    };
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, given] of Object.entries(operation.responses)) {
          const response = given.$ref ? doc.components.responses?.[given.$ref.split('/').pop() ?? ''] : given;
          if (Number(status) >= 400 && !response?.content?.['application/problem+json'])
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
      components: {
        schemas: Record<string, unknown>;
        responses?: Record<string, { content?: Record<string, { schema: unknown }> }>;
      };
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
    // The shared responses (components.responses) that operations reference.
    for (const [name, response] of Object.entries(doc.components.responses ?? {}))
      for (const [media, { schema }] of Object.entries(response.content ?? {})) visit(schema, `${name} ${media}`);
    expect(open).toEqual([]);
  });
});

/**
 * What client generators need (docs/decisions/0019-generated-client.md): names for operations, a
 * description on every parameter and property, examples in the OpenAPI 3.1 form only.
 */
describe('the document for client generators', () => {
  type Doc = {
    info: { contact?: unknown };
    paths: Record<string, Record<string, { operationId?: string; parameters?: Record<string, unknown>[] }>>;
    components: { schemas: Record<string, Record<string, unknown>>; responses?: Record<string, unknown> };
  };

  it('names every operation after its route constant', async () => {
    const routeModules: Record<string, unknown>[] = [
      accountRoutes,
      authRoutes,
      batchRoutes,
      categoriesRoutes,
      healthRoutes,
      tasksRoutes,
    ];
    const routes = routeModules.flatMap((module) =>
      Object.entries(module).filter(
        ([, value]) => typeof value === 'object' && value && 'path' in value && 'method' in value,
      ),
    );
    expect(routes.length).toBeGreaterThanOrEqual(30);
    for (const [name, route] of routes) expect((route as { operationId?: string }).operationId, name).toBe(name);

    const doc = (await generatedDocument()) as Doc;
    const missing = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => !operation.operationId)
        .map(([method]) => `${method} ${path}`),
    );
    expect(missing).toEqual([]);
    expect(doc.info.contact).toBeDefined();
  });

  it('describes every parameter and every property, and uses `examples`, never `example`', async () => {
    const doc = (await generatedDocument()) as Doc;
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item))
        for (const parameter of operation.parameters ?? [])
          if (!parameter.description)
            problems.push(`${method} ${path}: parameter ${String(parameter.name)} has no description`);
    const visit = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach((child, i) => visit(child, `${where}[${i}]`));
      const object = node as Record<string, unknown>;
      if ('example' in object && !where.endsWith('.examples'))
        problems.push(`${where}: \`example\` (use \`examples\`)`);
      if (object.properties && typeof object.properties === 'object' && !where.endsWith('.properties'))
        for (const [name, property] of Object.entries(object.properties as Record<string, Record<string, unknown>>)) {
          // A bare $ref is described by the component it names.
          const target =
            typeof property.$ref === 'string'
              ? doc.components.schemas[property.$ref.replace('#/components/schemas/', '')]
              : property;
          if (!target?.description) problems.push(`${where}.${name}: no description`);
        }
      for (const [key, child] of Object.entries(object)) visit(child, `${where}.${key}`);
    };
    visit(doc, '#');
    expect(problems).toEqual([]);
  });

  it('shares the common problem responses as components', async () => {
    const doc = (await generatedDocument()) as Doc;
    expect(Object.keys(doc.components.responses ?? {})).toEqual(
      expect.arrayContaining(['BadRequestRateLimited', 'UnauthorizedRateLimitedWithChallenge', 'InternalServerError']),
    );
    // The served document, compact: 179 KB before the shared components (issue 13), 99 KB after; it
    // grows with routes (117 KB with the move and the batch, whose nine commands are components
    // that reference the routes' own bodies; 126 KB with repeating tasks and their completions route),
    // not with copies.
    expect(JSON.stringify(doc).length).toBeLessThan(130_000);
  });
});
