import { AppError } from '../../lib/errors.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import { afterResponse, currentUserId } from '../../http/context.ts';
import { decodeSyncCursor } from '../tasks/tasks.changes.ts';
import type * as routes from './batch.routes.ts';
import * as batch from './batch.service.ts';

export const runBatch: AppRouteHandler<typeof routes.runBatch> = async (c) => {
  const request = c.req.valid('json');
  const since = request.sync_cursor === undefined ? null : decodeSyncCursor(request.sync_cursor);
  if (since === null && request.sync_cursor !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'The sync cursor is not one this API gave out.', {
      errors: [{ pointer: '/body/sync_cursor', message: 'Pass the next_cursor of an earlier sync unchanged' }],
    });
  }
  const answer = await batch.runBatch(c.get('deps'), currentUserId(c), request, since, {
    instance: c.req.path,
    requestId: c.get('requestId'),
    zone: c.get('tokenTimeZone'),
    after: (work) => afterResponse(c, work),
  });
  return c.json(answer, 200);
};
