import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { gatedRoute } from '../../gate/route.ts';
import { BATCH_COMMANDS_PER_REQUEST, MAX_BATCH_COMMANDS } from '../../lib/limits.ts';
import { errorResponses, json, jsonBody } from '../../lib/openapi.ts';
import { BatchRequestSchema, BatchResponseSchema } from './batch.schemas.ts';

/**
 * Against the per-user rate limit a batch counts as one request per BATCH_COMMANDS_PER_REQUEST
 * commands, rounded up: cheaper per write than single requests (one round trip each way), yet a
 * client cannot multiply its writes a hundredfold by batching them. Read before validation: a
 * body that is not a batch counts once and is refused by the validator.
 */
async function batchCost(c: Context<AppEnv>): Promise<number> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return 1;
  }
  const commands = (body as { commands?: unknown } | null)?.commands;
  const count = Array.isArray(commands) ? Math.min(commands.length, MAX_BATCH_COMMANDS) : 0;
  return Math.max(1, Math.ceil(count / BATCH_COMMANDS_PER_REQUEST));
}

export const runBatch = gatedRoute(
  { auth: 'user', verified: true, cache: 'invalidate', idempotent: true, cost: batchCost },
  {
    operationId: 'runBatch',
    tags: ['Batch'],
    method: 'post',
    path: '/api/v1/batch',
    summary: 'Run up to 100 writes in one request',
    description:
      `Up to ${MAX_BATCH_COMMANDS} commands (create, update, delete, restore and move a task; create and delete a ` +
      'category; link and unlink), run in order in one transaction. Each answers as its single route would (status, ' +
      'body or problem details, with `errors[]` pointers into `/body/commands/{i}/args`); optimistic locking, ' +
      'ownership, caps and validation are the same. A `temp_id` on a create stands for its id in later commands. ' +
      'A command id seen before is answered from its first result, not run again, so a whole queue can be sent again ' +
      'after a timeout. `mode: atomic`: all or nothing. A body that does not match the schema is refused whole (400) ' +
      `and runs nothing. Counts as one request per ${BATCH_COMMANDS_PER_REQUEST} commands against the rate limit.`,
    request: { body: jsonBody(BatchRequestSchema) },
    responses: {
      200: {
        description: 'One result per command, the temp ids and the sync position',
        content: json(BatchResponseSchema),
      },
      ...errorResponses(400),
    },
  },
);
