import { z } from '@hono/zod-openapi';
import { EmailSchema, NewPasswordSchema, PasswordSchema, UserSchema } from '../auth/auth.schemas.ts';
import { TaskSchema } from '../tasks/tasks.schemas.ts';
import { text, timestamp, uuid } from '../../lib/schemas.ts';
import {
  MAX_CATEGORIES_PER_USER,
  MAX_EXPORTED_COMPLETIONS,
  MAX_EXPORTED_LINKS,
  MAX_EXPORTED_TASKS,
  MAX_EXPORTED_TRASH,
  MAX_LIVE_TASKS_PER_USER,
  MAX_LISTED_SESSIONS,
} from '../../lib/limits.ts';

export const ChangePasswordSchema = z
  .strictObject({
    current_password: PasswordSchema.openapi({ description: 'Your password now' }),
    new_password: NewPasswordSchema.openapi({ description: '8 to 128 characters, with a letter and a digit' }),
  })
  .openapi('ChangePasswordRequest');

export const ForgotPasswordSchema = z
  .strictObject({ email: EmailSchema.openapi({ description: 'Where to send the reset link, if it is an account' }) })
  .openapi('ForgotPasswordRequest');

export const ResetPasswordSchema = z
  .strictObject({
    token: text(1, 200).openapi({ description: 'The token from the reset link' }),
    new_password: NewPasswordSchema.openapi({ description: '8 to 128 characters, with a letter and a digit' }),
  })
  .openapi('ResetPasswordRequest');

export const DeleteAccountSchema = z
  .strictObject({ password: PasswordSchema.openapi({ description: 'Your password, to confirm' }) })
  .openapi('DeleteAccountRequest');

export const SessionIdParamSchema = z.object({
  session_id: uuid().openapi({
    param: { name: 'session_id', in: 'path' },
    description: 'The `id` of the session, from GET /api/v1/auth/sessions',
  }),
});

export const SessionSchema = z
  .object({
    id: uuid().openapi({ description: 'The session id' }),
    created_at: timestamp().openapi({ description: 'When the session started (the login)' }),
    last_used_at: timestamp().openapi({ description: 'When its refresh token was last used' }),
    user_agent: z
      .string()
      .max(200)
      .nullable()
      .openapi({ description: 'The User-Agent of the login, cut to 200 characters' }),
    location: z.string().max(200).nullable().openapi({ description: 'City and country as Cloudflare saw the login' }),
    current: z.boolean().openapi({ description: 'The session of the token making this request' }),
  })
  .openapi('Session');

export const SessionListSchema = z
  .object({
    items: z
      .array(SessionSchema)
      .max(MAX_LISTED_SESSIONS)
      .openapi({ description: 'Your live sessions, the most recently used first' }),
  })
  .openapi('SessionList');

export const AcceptedSchema = z
  .object({
    status: z.literal('accepted').openapi({ description: 'Taken; the outcome is not told (no account enumeration)' }),
  })
  .openapi('Accepted');

const ExportCategorySchema = z
  .object({
    id: uuid().openapi({ description: 'The category id' }),
    name: z.string().max(50).openapi({ description: 'The category name' }),
    color: z.string().max(7).openapi({ description: 'Its colour, `#RRGGBB`' }),
    created_at: timestamp().openapi({ description: 'When it was created' }),
  })
  .openapi('ExportCategory');

const ExportTaskCategorySchema = z
  .object({
    task_id: uuid().openapi({ description: 'The task' }),
    category_id: uuid().openapi({ description: 'The category assigned to it' }),
    created_at: timestamp().openapi({ description: 'When it was assigned' }),
  })
  .openapi('ExportTaskCategory');

const ExportCompletionSchema = z
  .object({
    id: uuid().openapi({ description: 'The completion id' }),
    task_id: uuid().openapi({ description: 'The repeating task' }),
    due_date: timestamp().openapi({ description: 'The due date of the occurrence completed' }),
    completed_at: timestamp().openapi({ description: 'When it was completed' }),
  })
  .openapi('ExportCompletion');

// Every array has a true bound (docs/decisions/0017): the live-task and category caps, and the
// export's own cap on the trash.
export const AccountExportSchema = z
  .object({
    exported_at: timestamp().openapi({ description: 'When this export was made' }),
    user: UserSchema,
    categories: z.array(ExportCategorySchema).max(MAX_CATEGORIES_PER_USER).openapi({ description: 'Every category' }),
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
    task_completions: z
      .array(ExportCompletionSchema)
      .max(MAX_EXPORTED_COMPLETIONS)
      .openapi({
        description: `The completed occurrences of repeating tasks, most recent first (at most ${MAX_EXPORTED_COMPLETIONS.toLocaleString('en-US')})`,
      }),
    completions_truncated: z.boolean().openapi({
      description: `True when there are more than ${MAX_EXPORTED_COMPLETIONS.toLocaleString('en-US')} completions and the older ones were left out`,
    }),
  })
  .openapi('AccountExport');
