import { createRoute } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../../lib/openapi.ts';
import { requireAuth } from '../../middleware/auth.ts';
import { rateLimitByIp, rateLimitByUser } from '../../middleware/rate-limit.ts';
import {
  AuthResponseSchema,
  LoginBodySchema,
  LogoutBodySchema,
  RefreshBodySchema,
  RegisterBodySchema,
  ResendResponseSchema,
  TokenPairSchema,
  UserSchema,
  VerifyEmailBodySchema,
} from './auth.schemas.ts';

// Unauthenticated routes: the per-IP limit runs before validation and before any password hashing.
const publicRoute = { tags: ['Auth'], security: [], middleware: [rateLimitByIp()] };
const userRoute = { tags: ['Auth'], middleware: [requireAuth(), rateLimitByUser()] };

export const register = createRoute({
  operationId: 'register',
  ...publicRoute,
  method: 'post',
  path: '/api/v1/auth/register',
  summary: 'Create an account',
  description:
    'Creates the user (inactive until the email is verified), sends a verification email, and starts a session. Duplicate emails (case-insensitive) are 409.',
  request: { body: jsonBody(RegisterBodySchema) },
  responses: {
    201: {
      description: 'Account created',
      content: json(AuthResponseSchema),
    },
    ...errorResponses(400, 409, 413, 415, 429, 500, 503),
  },
});

export const login = createRoute({
  operationId: 'login',
  ...publicRoute,
  method: 'post',
  path: '/api/v1/auth/login',
  summary: 'Log in',
  description: `After LOCKOUT_THRESHOLD (5) consecutive failures the account is locked for LOCKOUT_MINUTES (15): 423 with Retry-After, even with the right password.`,
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: {
      description: 'Logged in',
      content: json(AuthResponseSchema),
    },
    ...errorResponses(400, 401, 413, 415, 423, 429, 500, 503),
  },
});

export const refresh = createRoute({
  operationId: 'refresh',
  ...publicRoute,
  method: 'post',
  path: '/api/v1/auth/refresh',
  summary: 'Rotate a refresh token',
  description:
    'Returns a new access token and a new refresh token; the presented one stops working (a second use within a few seconds, as when a client retries, still succeeds). Reuse after that revokes the whole session: 403.',
  request: { body: jsonBody(RefreshBodySchema) },
  responses: {
    200: {
      description: 'New tokens',
      content: json(TokenPairSchema),
    },
    ...errorResponses(400, 401, 403, 413, 415, 429, 500, 503),
  },
});

export const logout = createRoute({
  operationId: 'logout',
  ...publicRoute,
  method: 'post',
  path: '/api/v1/auth/logout',
  summary: 'End the session of a refresh token',
  description: 'Revokes every refresh token of the session. Always 204, also for unknown tokens.',
  request: { body: jsonBody(LogoutBodySchema) },
  responses: { 204: { description: 'Session ended' }, ...errorResponses(400, 413, 415, 429, 500, 503) },
});

export const logoutAll = createRoute({
  operationId: 'logoutAll',
  ...userRoute,
  method: 'post',
  path: '/api/v1/auth/logout-all',
  summary: 'End every session of the current user',
  responses: { 204: { description: 'All sessions ended' }, ...errorResponses(401, 429, 500) },
});

export const me = createRoute({
  operationId: 'me',
  ...userRoute,
  method: 'get',
  path: '/api/v1/auth/me',
  summary: 'The current user',
  responses: { 200: { description: 'The user', content: json(UserSchema) }, ...errorResponses(401, 429, 500) },
});

export const verifyEmail = createRoute({
  operationId: 'verifyEmail',
  ...publicRoute,
  method: 'post',
  path: '/api/v1/auth/verify-email',
  summary: 'Verify an email address',
  description: 'Redeems the token from the verification email (single use, 24 hours) and activates the account.',
  request: { body: jsonBody(VerifyEmailBodySchema) },
  responses: {
    200: { description: 'Verified', content: json(UserSchema) },
    ...errorResponses(400, 413, 415, 429, 500, 503),
  },
});

export const resendVerification = createRoute({
  operationId: 'resendVerification',
  ...userRoute,
  method: 'post',
  path: '/api/v1/auth/resend-verification',
  summary: 'Send a new verification email',
  description: 'Earlier verification links stop working. 409 when the address is already verified.',
  responses: {
    202: { description: 'A new email is on its way', content: json(ResendResponseSchema) },
    ...errorResponses(401, 409, 429, 500),
  },
});
