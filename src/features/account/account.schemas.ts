import { z } from '@hono/zod-openapi';
import { EmailSchema, NewPasswordSchema, PasswordSchema, UserSchema } from '../auth/auth.schemas.ts';
import { TaskSchema } from '../tasks/tasks.schemas.ts';
import { text, timestamp, uuid } from '../../lib/schemas.ts';
import {
  MAX_CATEGORIES_PER_USER,
  MAX_EXPORTED_LINKS,
  MAX_EXPORTED_TASKS,
  MAX_EXPORTED_TRASH,
  MAX_LIVE_TASKS_PER_USER,
  MAX_LISTED_SESSIONS,
} from '../../lib/limits.ts';

export const ChangePasswordSchema = z
  .strictObject({ current_password: PasswordSchema, new_password: NewPasswordSchema })
  .openapi('ChangePasswordRequest');

export const ForgotPasswordSchema = z.strictObject({ email: EmailSchema }).openapi('ForgotPasswordRequest');

export const ResetPasswordSchema = z
  .strictObject({ token: text(1, 200), new_password: NewPasswordSchema })
  .openapi('ResetPasswordRequest');

export const DeleteAccountSchema = z.strictObject({ password: PasswordSchema }).openapi('DeleteAccountRequest');

export const SessionIdParamSchema = z.object({
  session_id: uuid().openapi({ param: { name: 'session_id', in: 'path' } }),
});

export const SessionSchema = z
  .object({
    id: uuid(),
    created_at: timestamp(),
    last_used_at: timestamp(),
    user_agent: z.string().max(200).nullable(),
    location: z.string().max(200).nullable().openapi({ description: 'City and country as Cloudflare saw the login' }),
    current: z.boolean().openapi({ description: 'The session of the token making this request' }),
  })
  .openapi('Session');

export const SessionListSchema = z
  .object({ items: z.array(SessionSchema).max(MAX_LISTED_SESSIONS) })
  .openapi('SessionList');

export const AcceptedSchema = z.object({ status: z.literal('accepted') }).openapi('Accepted');

const ExportCategorySchema = z
  .object({ id: uuid(), name: z.string().max(50), color: z.string().max(7), created_at: timestamp() })
  .openapi('ExportCategory');

const ExportTaskCategorySchema = z
  .object({ task_id: uuid(), category_id: uuid(), created_at: timestamp() })
  .openapi('ExportTaskCategory');

// Every array has a true bound (docs/decisions/0017): the live-task and category caps, and the
// export's own cap on the trash.
export const AccountExportSchema = z
  .object({
    exported_at: timestamp(),
    user: UserSchema,
    categories: z.array(ExportCategorySchema).max(MAX_CATEGORIES_PER_USER),
    tasks: z
      .array(TaskSchema)
      .max(MAX_EXPORTED_TASKS)
      .openapi({
        description: `Every live task (at most ${MAX_LIVE_TASKS_PER_USER.toLocaleString('en-US')}), oldest first, then the ${MAX_EXPORTED_TRASH.toLocaleString('en-US')} most recently deleted ones, newest deletion first`,
      }),
    trash_truncated: z.boolean().openapi({
      description: `True when the trash holds more than ${MAX_EXPORTED_TRASH.toLocaleString('en-US')} tasks and the older ones were left out`,
    }),
    task_categories: z
      .array(ExportTaskCategorySchema)
      .max(MAX_EXPORTED_LINKS)
      .openapi({ description: 'The category links of the exported tasks, in the order of the tasks' }),
  })
  .openapi('AccountExport');
