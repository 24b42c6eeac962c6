import { z } from '@hono/zod-openapi';
import { EmailSchema, NewPasswordSchema, PasswordSchema, UserSchema } from '../auth/auth.schemas.ts';
import { TaskSchema } from '../tasks/tasks.schemas.ts';
import { text, timestamp, uuid } from '../../lib/schemas.ts';

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

export const SessionListSchema = z.object({ items: z.array(SessionSchema).max(1000) }).openapi('SessionList');

export const AcceptedSchema = z.object({ status: z.literal('accepted') }).openapi('Accepted');

const ExportCategorySchema = z
  .object({ id: uuid(), name: z.string().max(50), color: z.string().max(7), created_at: timestamp() })
  .openapi('ExportCategory');

const ExportTaskCategorySchema = z
  .object({ task_id: uuid(), category_id: uuid(), created_at: timestamp() })
  .openapi('ExportTaskCategory');

// Deleted tasks are kept, so the task and link arrays have no upper bound (docs/decisions/0011).
export const AccountExportSchema = z
  .object({
    exported_at: timestamp(),
    user: UserSchema,
    tasks: z.array(TaskSchema).openapi({ description: 'Every task, deleted ones too' }),
    categories: z.array(ExportCategorySchema).max(1000),
    task_categories: z.array(ExportTaskCategorySchema),
  })
  .openapi('AccountExport');
