import { z } from '@hono/zod-openapi';
import { clientTimestamp, int32, text, timestamp, uuid } from '../../lib/schemas.ts';

export const TASK_STATUSES = ['todo', 'in_progress', 'done'] as const;
export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;

/** Sort keys clients may use; `-` in front sorts descending. The id always breaks ties. */
export const TASK_SORT_FIELDS = ['created_at', 'updated_at', 'due_date', 'priority', 'status', 'title'] as const;
const SORTS = TASK_SORT_FIELDS.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];

const id = uuid().openapi({ example: '01a21ce1-50cf-7237-b8b8-bcd30d1af7d3' });

export const TaskIdParamSchema = z.object({ task_id: id.openapi({ param: { name: 'task_id', in: 'path' } }) });
export const TaskCategoryParamSchema = z.object({
  task_id: id.openapi({ param: { name: 'task_id', in: 'path' } }),
  cat_id: id.openapi({ param: { name: 'cat_id', in: 'path' } }),
});

export const CreateTaskSchema = z
  .strictObject({
    title: text(3, 200).openapi({ example: 'Write the quarterly report' }),
    description: text(0, 2000).nullable().optional(),
    due_date: clientTimestamp().nullable().optional().openapi({ description: 'Must be in the future' }),
    priority: z.enum(TASK_PRIORITIES).default('medium'),
  })
  .openapi('CreateTaskRequest');

export const UpdateTaskSchema = z
  .strictObject({
    title: text(3, 200).optional(),
    description: text(0, 2000).nullable().optional(),
    due_date: clientTimestamp().nullable().optional().openapi({ description: 'Must be in the future when set' }),
    priority: z.enum(TASK_PRIORITIES).optional(),
    status: z.enum(TASK_STATUSES).optional(),
    version: int32(1).openapi({ description: 'The version you read; 409 if it changed since' }),
  })
  .refine((body) => Object.keys(body).some((k) => k !== 'version'), {
    message: 'Nothing to change: send at least one field besides version',
  })
  .openapi('UpdateTaskRequest');

export const ListTasksQuerySchema = z
  .object({
    page: z.coerce.number().int().min(1).max(10_000).default(1).openapi({ format: 'int32' }),
    limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ format: 'int32' }),
    status: z.enum(TASK_STATUSES).optional(),
    priority: z.enum(TASK_PRIORITIES).optional(),
    due_from: clientTimestamp().optional(),
    due_to: clientTimestamp().optional(),
    category_id: uuid().optional(),
    sort: z
      .enum(SORTS)
      .default('-created_at')
      .openapi({ description: `One of ${TASK_SORT_FIELDS.join(', ')}; prefix - for descending` }),
  })
  .refine((q) => !q.due_from || !q.due_to || Date.parse(q.due_from) <= Date.parse(q.due_to), {
    message: 'due_from must not be after due_to',
    path: ['due_from'],
  });

export const CategoryRefSchema = z
  .object({ id: uuid(), name: z.string().max(50), color: z.string().max(7) })
  .openapi('CategoryRef');

export const TaskSchema = z
  .object({
    id: uuid(),
    user_id: uuid(),
    title: z.string().max(200),
    description: z.string().max(2000).nullable(),
    status: z.enum(TASK_STATUSES),
    priority: z.enum(TASK_PRIORITIES),
    due_date: timestamp().nullable(),
    created_at: timestamp(),
    updated_at: timestamp(),
    deleted_at: timestamp().nullable(),
    version: int32(1),
    categories: z.array(CategoryRefSchema).max(100),
  })
  .openapi('Task');

export const TaskPageSchema = z
  .object({
    items: z.array(TaskSchema).max(100),
    total: int32(0).openapi({ description: 'Every match, not just this page' }),
    page: int32(1, 10_000),
    limit: int32(1, 100),
  })
  .openapi('TaskPage');

export type TaskJson = z.infer<typeof TaskSchema>;
export type ListTasksQuery = z.infer<typeof ListTasksQuerySchema>;
