import { z } from '@hono/zod-openapi';
import { int32, uuid } from '../../lib/schemas.ts';
import { ProblemSchema } from '../../lib/openapi.ts';
import { BATCH_COMMAND_RETENTION_DAYS, MAX_BATCH_COMMANDS } from '../../lib/limits.ts';
import { CategorySchema, CreateCategorySchema } from '../categories/categories.schemas.ts';
import { CreateTaskSchema, MoveTaskSchema, TaskSchema, UpdateTaskSchema } from '../tasks/tasks.schemas.ts';

/**
 * POST /api/v1/batch (docs/decisions/0028): up to MAX_BATCH_COMMANDS writes in one request, each
 * with the arguments of its single route. Ids in the arguments may be the `temp_id` of a task or
 * category created by an earlier command of the same batch.
 */

const EXAMPLE_ID = '01a21ce1-50cf-7237-b8b8-bcd30d1af7d3';

export const COMMAND_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

const commandId = z
  .string()
  .min(1)
  .max(64)
  .regex(COMMAND_ID_PATTERN)
  .openapi({
    description:
      `Your id for this command, unique for your account (a UUID does): a command id sent again within ` +
      `${BATCH_COMMAND_RETENTION_DAYS} days is answered from its first result and not run again (422 if the ` +
      'command differs). 1-64 characters of `A-Za-z0-9._:-`.',
    examples: ['c1f0a8e2-3d4b-4c5d-8e9f-0a1b2c3d4e5f'],
  });

const ref = (what: string) =>
  uuid().openapi({
    description: `The ${what} id, or the \`temp_id\` of a ${what} created earlier in this batch`,
    examples: [EXAMPLE_ID],
  });

const tempId = uuid()
  .optional()
  .openapi({
    description:
      'A UUID of your choosing that later commands of this batch may use in place of the new id; `temp_ids` in the answer maps it to the real one. Unique within the batch.',
    examples: ['7d9c4f6e-1b2a-4c3d-9e8f-7a6b5c4d3e2f'],
  });

const typeOf = <T extends string>(type: T, route: string) =>
  z.literal(type).openapi({ description: `What the command does: the route ${route}` });

const taskId = { task_id: ref('task') };
const categoryId = { category_id: ref('category') };

export const VersionArgsSchema = z
  .strictObject({
    version: int32(1)
      .optional()
      .openapi({ description: 'The version you read: 409 with current_version if it changed since' }),
  })
  .openapi('BatchVersionArgs', { description: 'Only if the task is still at this version, when given' });

function command<T extends string, S extends z.ZodRawShape>(type: T, route: string, shape: S, description: string) {
  return z
    .strictObject({ id: commandId, type: typeOf(type, route), ...shape })
    .openapi(`BatchCommand_${type.replace('.', '_')}`, { description });
}

export const BatchCommandSchema = z.discriminatedUnion('type', [
  command(
    'task.create',
    'POST /api/v1/tasks',
    { temp_id: tempId, args: CreateTaskSchema },
    'Creates a task (201 with the task). `args.parent_id` may be a temp id.',
  ),
  command(
    'task.update',
    'PATCH /api/v1/tasks/{task_id}',
    { ...taskId, args: UpdateTaskSchema },
    'Updates a task (200 with the task). `args.version` is required: there is no If-Match per command.',
  ),
  command(
    'task.delete',
    'DELETE /api/v1/tasks/{task_id}',
    { ...taskId, args: VersionArgsSchema.optional() },
    'Moves a task and its subtasks to the trash (204).',
  ),
  command(
    'task.restore',
    'POST /api/v1/tasks/{task_id}/restore',
    { ...taskId, args: VersionArgsSchema.optional() },
    'Restores a task from the trash (200 with the task).',
  ),
  command(
    'task.move',
    'POST /api/v1/tasks/{task_id}/move',
    { ...taskId, args: MoveTaskSchema },
    'Moves a task (200 with the task). `args.parent_id`, `before` and `after` may be temp ids.',
  ),
  command(
    'category.create',
    'POST /api/v1/categories',
    { temp_id: tempId, args: CreateCategorySchema },
    'Creates a category (201 with the category).',
  ),
  command(
    'category.delete',
    'DELETE /api/v1/categories/{cat_id}',
    categoryId,
    'Deletes a category; its tasks stay (204).',
  ),
  command(
    'task.link',
    'POST /api/v1/tasks/{task_id}/categories/{cat_id}',
    { ...taskId, ...categoryId },
    'Assigns a category to a task (200 with the task).',
  ),
  command(
    'task.unlink',
    'DELETE /api/v1/tasks/{task_id}/categories/{cat_id}',
    { ...taskId, ...categoryId },
    'Removes a category from a task (204).',
  ),
]);
export type BatchCommand = z.infer<typeof BatchCommandSchema>;

const mode = z.enum(['independent', 'atomic']);

export const BatchRequestSchema = z
  .strictObject({
    mode: z.enum(['independent', 'atomic']).default('independent').openapi({
      description:
        '`independent` (the default): each command succeeds or fails on its own. `atomic`: all or nothing; the first command that fails stops the batch, nothing is written, and every other command answers 424.',
    }),
    sync_cursor: z
      .string()
      .max(300)
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional()
      .openapi({
        description:
          'The `next_cursor` of your last GET /api/v1/tasks/changes. When nothing changed after it but this batch, the answer says `sync.caught_up: true` and its `sync.next_cursor` continues from after the batch.',
      }),
    commands: z
      .array(BatchCommandSchema)
      .min(1)
      .max(MAX_BATCH_COMMANDS)
      .openapi({ description: `1 to ${MAX_BATCH_COMMANDS} commands, run in order.` }),
  })
  .openapi('BatchRequest');
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

export const BatchResultSchema = z
  .object({
    id: z.string().max(64).regex(COMMAND_ID_PATTERN).openapi({ description: 'The command id' }),
    status: int32(200, 599).openapi({ description: 'What the single route would have answered', examples: [201] }),
    replayed: z.boolean().openapi({ description: 'Answered from the first run of this command id' }),
    // Bare references: the components describe them (a description here would wrap them in allOf).
    task: TaskSchema.optional(),
    category: CategorySchema.optional(),
    problem: ProblemSchema.optional(),
  })
  .openapi('BatchResult');

export const BatchResponseSchema = z
  .object({
    mode: mode.openapi({ description: 'The mode the batch ran in' }),
    applied: z.boolean().openapi({ description: 'Whether every command succeeded' }),
    results: z.array(BatchResultSchema).max(MAX_BATCH_COMMANDS).openapi({ description: 'One per command, in order' }),
    temp_ids: z
      .array(
        z
          .object({
            temp_id: uuid().openapi({ description: 'The temp id the command gave' }),
            id: uuid().openapi({ description: 'The id of what it created' }),
          })
          .openapi('BatchTempId', { description: 'A temp id and the real id it stands for' }),
      )
      .max(MAX_BATCH_COMMANDS)
      .openapi({ description: 'Each `temp_id` of a successful create, with the real id, in command order' }),
    sync: z
      .object({
        next_cursor: z
          .string()
          .max(300)
          .regex(/^[A-Za-z0-9_-]+$/)
          .openapi({ description: 'The delta-sync position after this batch: pass it to GET /api/v1/tasks/changes' }),
        caught_up: z.boolean().openapi({
          description:
            'True when your `sync_cursor` had seen every change before this batch: keep `next_cursor`, and the results are all you missed. False (or no sync_cursor sent): sync from your own cursor as usual.',
        }),
      })
      .nullable()
      .openapi({ description: 'null when nothing was written (an atomic batch that failed): your cursor stands' }),
  })
  .openapi('BatchResponse');
export type BatchResponse = z.infer<typeof BatchResponseSchema>;
export type BatchResult = z.infer<typeof BatchResultSchema>;
