import { z } from '@hono/zod-openapi';
import { EmailSchema, NewPasswordSchema, PasswordSchema, UserSchema } from '../auth/auth.schemas.ts';
import { TaskSchema } from '../tasks/tasks.schemas.ts';
import { text, timestamp, uuid } from '../../lib/schemas.ts';

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
  .object({ items: z.array(SessionSchema).max(1000).openapi({ description: 'Your live sessions, newest first' }) })
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

// Deleted tasks are kept, so the task and link arrays have no upper bound (docs/decisions/0011).
export const AccountExportSchema = z
  .object({
    exported_at: timestamp().openapi({ description: 'When this export was made' }),
    user: UserSchema,
    tasks: z.array(TaskSchema).openapi({ description: 'Every task, deleted ones too' }),
    categories: z.array(ExportCategorySchema).max(1000).openapi({ description: 'Every category' }),
    task_categories: z.array(ExportTaskCategorySchema).openapi({ description: 'Every category assignment' }),
  })
  .openapi('AccountExport');
