import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponseValidator, type Exchange, type ResponseValidator } from './response-validator.ts';

/**
 * A loopback HTTP front for the response validator, started by the worker tests' global setup:
 * the tests run inside workerd, where the validator cannot (it generates code), so the test helpers
 * post each response here (test/helpers/contract.ts).
 *
 * - `POST /documents` with an OpenAPI document: `{ id }`, its SHA-256; the same document is
 *   prepared once, however many test files send it.
 * - `POST /validate` with `{ document: id, exchange }`: `{ problems }`, empty when the response
 *   matches the document.
 */
export async function startValidationServer(): Promise<{ url: string; close(): Promise<void> }> {
  const validators = new Map<string, Promise<ResponseValidator>>();

  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const text = await readBody(req);
      if (req.method === 'POST' && req.url === '/documents') {
        const id = createHash('sha256').update(text).digest('hex');
        if (!validators.has(id))
          validators.set(id, createResponseValidator(JSON.parse(text) as Record<string, unknown>));
        await validators.get(id);
        return reply(200, { id });
      }
      if (req.method === 'POST' && req.url === '/validate') {
        const { document, exchange } = JSON.parse(text) as { document: string; exchange: Exchange };
        const validator = validators.get(document);
        if (!validator) return reply(404, { error: `unknown document ${document}` });
        return reply(200, { problems: (await validator).validate(exchange) });
      }
      return reply(404, { error: `no route ${req.method} ${req.url}` });
    })().catch((error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
