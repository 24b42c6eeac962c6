import { createRoute } from '@hono/zod-openapi';
import { gatedRoute, withRateLimitHeaders } from '../../gate/route.ts';
import { errorResponses, headerRef, json, jsonBody } from '../../lib/openapi.ts';
import {
  AuthResponseSchema,
  LoginBodySchema,
  LogoutBodySchema,
  RefreshBodySchema,
  RegisterBodySchema,
  ResendResponseSchema,
  TokenPairSchema,
  UpdateMeBodySchema,
  UserSchema,
  VerifyEmailBodySchema,
} from './auth.schemas.ts';

// Unauthenticated routes: the per-address limit runs before validation and any password hashing.
const open = { auth: 'public' } as const;
const user = { auth: 'user' } as const;

export const register = gatedRoute(open, {
  operationId: 'register',
  tags: ['Auth'],
  method: 'post',
  path: '/api/v1/auth/register',
  summary: 'Create an account',
  description:
    'Creates the user (inactive until the email is verified), sends a verification email (within the cap of 3 emails per address per hour), and starts a session. Duplicate emails (case-insensitive) are 409.',
  request: { body: jsonBody(RegisterBodySchema) },
  responses: {
    201: {
      description: 'Account created',
      headers: { Location: headerRef('Location') },
      content: json(AuthResponseSchema),
    },
    ...errorResponses(400, 409),
  },
});

export const login = gatedRoute(open, {
  operationId: 'login',
  tags: ['Auth'],
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
    ...errorResponses(400, 401, 423),
  },
});

export const refresh = createRoute({
  operationId: 'refresh',
  // No per-address limit: the token proves possession of a secret, and many phones share one
  // address behind carrier-grade NAT. Each session family has its own limit instead (0015).
  tags: ['Auth'],
  security: [],
  method: 'post',
  path: '/api/v1/auth/refresh',
  summary: 'Rotate a refresh token',
  description:
    'Returns a new access token and a new refresh token; the presented one stops working. A retry with the same token within 10 seconds gets the same new refresh token back, so a session has one live refresh token at any time. Reuse after that revokes the whole session: 403. Limited per session (RATE_LIMIT_REFRESH_PER_MINUTE, 10 rotations a minute), not per client address.',
  request: { body: jsonBody(RefreshBodySchema) },
  // The per-session limit's RateLimit headers are documented as a gate documents its own.
  responses: withRateLimitHeaders({
    200: { description: 'New tokens', content: json(TokenPairSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 429, 500, 503),
  }),
});

export const logout = gatedRoute(open, {
  operationId: 'logout',
  tags: ['Auth'],
  method: 'post',
  path: '/api/v1/auth/logout',
  summary: 'End the session of a refresh token',
  description: 'Revokes every refresh token of the session. Always 204, also for unknown tokens.',
  request: { body: jsonBody(LogoutBodySchema) },
  responses: { 204: { description: 'Session ended' }, ...errorResponses(400) },
});

export const logoutAll = gatedRoute(user, {
  operationId: 'logoutAll',
  tags: ['Auth'],
  method: 'post',
  path: '/api/v1/auth/logout-all',
  summary: 'End every session of the current user',
  responses: { 204: { description: 'All sessions ended' } },
});

export const me = gatedRoute(user, {
  operationId: 'me',
  tags: ['Auth'],
  method: 'get',
  path: '/api/v1/auth/me',
  summary: 'The current user',
  responses: { 200: { description: 'The user', content: json(UserSchema) } },
});

export const updateMe = gatedRoute(user, {
  operationId: 'updateMe',
  tags: ['Auth'],
  method: 'patch',
  path: '/api/v1/auth/me',
  summary: 'Change your name or time zone',
  description:
    'The time zone is where your days begin and end: recurring tasks advance in it, across its daylight-saving changes. A recurring task keeps the instants it already has; its later occurrences follow the new zone.',
  request: { body: jsonBody(UpdateMeBodySchema) },
  responses: { 200: { description: 'The user, changed', content: json(UserSchema) }, ...errorResponses(400) },
});

export const verifyEmail = gatedRoute(open, {
  operationId: 'verifyEmail',
  tags: ['Auth'],
  method: 'post',
  path: '/api/v1/auth/verify-email',
  summary: 'Verify an email address',
  description: 'Redeems the token from the verification email (single use, 24 hours) and activates the account.',
  request: { body: jsonBody(VerifyEmailBodySchema) },
  responses: {
    200: { description: 'Verified', content: json(UserSchema) },
    ...errorResponses(400),
  },
});

export const resendVerification = gatedRoute(user, {
  operationId: 'resendVerification',
  tags: ['Auth'],
  method: 'post',
  path: '/api/v1/auth/resend-verification',
  summary: 'Send a new verification email',
  description:
    'Earlier verification links stop working. 409 when the address is already verified. At most 3 emails per address per hour (verification and reset emails together); over that the answer is the same and no email goes out.',
  responses: {
    202: { description: 'A new email is on its way', content: json(ResendResponseSchema) },
    ...errorResponses(409),
  },
});
