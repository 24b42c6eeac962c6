import { env } from 'cloudflare:workers';
import { openApiDocument, type App } from '../../src/app.ts';
import { BASE } from './constants.ts';

/**
 * Every response an integration test receives is checked against the app's OpenAPI document:
 * documented status, declared headers, body schema, media type (test/validation/). The validator
 * runs in Node (the global setup's loopback server); this side registers the document and posts
 * each exchange. A mismatch throws, so the test that made the request fails with the reasons.
 */

/** Registers the document of this app instance (with any routes a test added) and returns its id. */
export async function registerDocument(app: App): Promise<string> {
  const res = await fetch(`${env.CONTRACT_VALIDATOR_URL}/documents`, {
    method: 'POST',
    body: JSON.stringify(openApiDocument(app, BASE, 'test')),
  });
  if (!res.ok) throw new Error(`the response validator refused the document: ${await res.text()}`);
  return (await res.json<{ id: string }>()).id;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

/** Throws ContractViolation when `response` to `request` is not what the document says. */
export async function expectDocumented(documentId: string, request: Request, response: Response): Promise<void> {
  const url = new URL(request.url);
  const exchange = {
    method: request.method,
    path: url.pathname + url.search,
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.clone().text(),
  };
  const res = await fetch(`${env.CONTRACT_VALIDATOR_URL}/validate`, {
    method: 'POST',
    body: JSON.stringify({ document: documentId, exchange }),
  });
  if (!res.ok) throw new Error(`the response validator failed: ${await res.text()}`);
  const { problems } = await res.json<{ problems: string[] }>();
  if (problems.length > 0)
    throw new ContractViolation(
      `The response does not match the OpenAPI document:\n  ${problems.join('\n  ')}\nbody: ${exchange.body.slice(0, 500)}`,
    );
}
