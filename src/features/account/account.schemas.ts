import { z } from '@hono/zod-openapi';
import { EmailSchema, NewPasswordSchema, PasswordSchema } from '../auth/auth.schemas.ts';
import { text } from '../../lib/schemas.ts';

const timestamp = z.iso.datetime();

export const ChangePasswordSchema = z
  .strictObject({ current_password: PasswordSchema, new_password: NewPasswordSchema })
  .openapi('ChangePasswordRequest');

export const ForgotPasswordSchema = z.strictObject({ email: EmailSchema }).openapi('ForgotPasswordRequest');

export const ResetPasswordSchema = z
  .strictObject({ token: text(1, 200), new_password: NewPasswordSchema })
  .openapi('ResetPasswordRequest');

export const DeleteAccountSchema = z.strictObject({ password: PasswordSchema }).openapi('DeleteAccountRequest');

export const SessionIdParamSchema = z.object({
  session_id: z.uuid().openapi({ param: { name: 'session_id', in: 'path' } }),
});

export const SessionSchema = z
  .object({
    id: z.uuid(),
    created_at: timestamp,
    last_used_at: timestamp,
    user_agent: z.string().max(200).nullable(),
    location: z.string().max(200).nullable().openapi({ description: 'City and country as Cloudflare saw the login' }),
    current: z.boolean().openapi({ description: 'The session of the token making this request' }),
  })
  .openapi('Session');

export const SessionListSchema = z.object({ items: z.array(SessionSchema).max(1000) }).openapi('SessionList');

export const AcceptedSchema = z.object({ status: z.literal('accepted') }).openapi('Accepted');

export const AccountExportSchema = z
  .object({
    exported_at: timestamp,
    user: z.record(z.string(), z.unknown()),
    tasks: z.array(z.record(z.string(), z.unknown())),
    categories: z.array(z.record(z.string(), z.unknown())),
    task_categories: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi('AccountExport');
