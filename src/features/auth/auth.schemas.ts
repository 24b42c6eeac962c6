import { z } from '@hono/zod-openapi';
import { int32, text, timeZone, timestamp, uuid } from '../../lib/schemas.ts';
import { MAX_TIME_ZONE_LENGTH, TIME_ZONE_NAME } from '../../lib/time-zone.ts';

export const EmailSchema = text(3, 254)
  .pipe(z.email({ message: 'Must be an email address' }))
  // Stored lower-cased: "Ann@Example.com" and "ann@example.com" are one account.
  .transform((email) => email.toLowerCase())
  .openapi({ format: 'email', examples: ['ann@example.com'] });

/** The plan's "complexity at the API boundary": 8..128 characters, at least a letter and a digit. */
export const NewPasswordSchema = text(8, 128)
  .refine((p) => /\p{L}/u.test(p), { message: 'Must contain a letter' })
  .refine((p) => /\p{N}/u.test(p), { message: 'Must contain a digit' })
  .openapi({ format: 'password', examples: ['correct horse 42'] });

/** At login any stored password is possible: only the length bound applies. */
export const PasswordSchema = text(1, 128).openapi({ format: 'password', examples: ['correct horse 42'] });

const OpaqueTokenSchema = text(1, 200).openapi({ examples: ['yF2k6Zb0Qh3l8m1nXyJ5aT9sV4cW7eR0pL2oK8uI3gE'] });

export const RegisterBodySchema = z
  .strictObject({
    email: EmailSchema.openapi({ description: 'Your email address; the verification link goes there' }),
    password: NewPasswordSchema.openapi({ description: '8 to 128 characters, with a letter and a digit' }),
    full_name: text(1, 100).openapi({ description: 'Your name as shown to you', examples: ['Ann Smith'] }),
    time_zone: timeZone()
      .optional()
      .openapi({ description: "An IANA time zone name, such as the device's; UTC when absent" }),
  })
  .openapi('RegisterRequest');

export const UpdateMeBodySchema = z
  .strictObject({
    full_name: text(1, 100)
      .optional()
      .openapi({ description: 'A new name', examples: ['Ann Smith'] }),
    time_zone: timeZone().optional().openapi({
      description:
        'An IANA time zone name: recurring tasks are computed in it from now on. Given back as the runtime spells it (`europe/berlin` becomes `Europe/Berlin`); 400 for a name it does not know or a UTC offset.',
    }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Nothing to change: send full_name or time_zone' })
  .openapi('UpdateMeRequest', { description: 'The account fields to change: the body of PATCH /api/v1/auth/me' });

export const LoginBodySchema = z
  .strictObject({
    email: EmailSchema.openapi({ description: 'The email address you registered with' }),
    password: PasswordSchema.openapi({ description: 'Your password' }),
  })
  .openapi('LoginRequest');

export const RefreshBodySchema = z
  .strictObject({ refresh_token: OpaqueTokenSchema.openapi({ description: 'The refresh token you were last given' }) })
  .openapi('RefreshRequest');

export const LogoutBodySchema = z
  .strictObject({
    refresh_token: OpaqueTokenSchema.openapi({ description: 'The refresh token of the session to end' }),
  })
  .openapi('LogoutRequest');

export const VerifyEmailBodySchema = z
  .strictObject({ token: OpaqueTokenSchema.openapi({ description: 'The token from the verification link' }) })
  .openapi('VerifyEmailRequest');

export const UserSchema = z
  .object({
    id: uuid().openapi({ description: 'The user id' }),
    email: z.email().max(254).openapi({ description: 'The email address, lower-cased' }),
    full_name: z.string().max(100).openapi({ description: 'The name given at registration, or changed since' }),
    time_zone: z
      .string()
      .max(MAX_TIME_ZONE_LENGTH)
      .openapi({
        pattern: TIME_ZONE_NAME.source,
        description:
          'An IANA time zone name: where your days begin and end, for recurring tasks and reminders. UTC until you set one.',
        examples: ['Europe/Berlin'],
      }),
    is_active: z.boolean().openapi({ description: 'True once the email address is verified' }),
    email_verified_at: timestamp()
      .nullable()
      .openapi({ description: 'When the email address was verified; null until then' }),
    created_at: timestamp().openapi({ description: 'When the account was created' }),
    updated_at: timestamp().openapi({ description: 'When the account last changed' }),
  })
  .openapi('User', { description: 'A user account' });

export const TokenPairSchema = z
  .object({
    access_token: z.string().max(4096).openapi({ description: 'JWT, 15 minutes' }),
    refresh_token: z.string().max(200).openapi({ description: 'Opaque; rotates on every refresh' }),
    token_type: z
      .literal('Bearer')
      .openapi({ description: 'Send the access token as `Authorization: Bearer <token>`' }),
    expires_in: int32(1, 900).openapi({ description: 'Seconds until the access token expires' }),
  })
  .openapi('TokenPair');

// The shape spread, not `.extend()`: an extended registered schema is documented as an allOf, which
// cannot forbid undeclared members (src/lib/openapi.ts closes response objects).
export const AuthResponseSchema = z.object({ ...TokenPairSchema.shape, user: UserSchema }).openapi('AuthResponse');

export const ResendResponseSchema = z
  .object({
    status: z.literal('sent').openapi({ description: 'A new verification email is on its way' }),
    expires_at: timestamp().openapi({ description: 'When its link stops working' }),
  })
  .openapi('ResendVerificationResponse');
