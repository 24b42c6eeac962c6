import { gatedRoute } from '../../gate/route.ts';
import { errorResponses, json, jsonBody } from '../../lib/openapi.ts';
import {
  AcceptedSchema,
  AccountExportSchema,
  ChangePasswordSchema,
  DeleteAccountSchema,
  ForgotPasswordSchema,
  ResetPasswordSchema,
  SessionIdParamSchema,
  SessionListSchema,
} from './account.schemas.ts';

const open = { auth: 'public' } as const;
const user = { auth: 'user' } as const;

export const changePassword = gatedRoute(user, {
  operationId: 'changePassword',
  tags: ['Account'],
  method: 'post',
  path: '/api/v1/auth/change-password',
  summary: 'Change the password',
  description:
    'Needs the current password (403 if wrong). Wrong passwords count toward the same lockout as login: 423 with Retry-After while locked, even with the right one. Every other session ends; this one goes on.',
  request: { body: jsonBody(ChangePasswordSchema) },
  responses: { 204: { description: 'Changed' }, ...errorResponses(400, 403, 423) },
});

export const forgotPassword = gatedRoute(open, {
  operationId: 'forgotPassword',
  tags: ['Account'],
  method: 'post',
  path: '/api/v1/auth/forgot-password',
  summary: 'Ask for a password reset email',
  description:
    'Always 202, whether or not the address has an account. At most 3 emails per address per hour, verification emails included, whoever asks; the link is valid for 1 hour.',
  request: { body: jsonBody(ForgotPasswordSchema) },
  responses: {
    202: { description: 'Accepted', content: json(AcceptedSchema) },
    ...errorResponses(400),
  },
});

export const resetPassword = gatedRoute(open, {
  operationId: 'resetPassword',
  tags: ['Account'],
  method: 'post',
  path: '/api/v1/auth/reset-password',
  summary: 'Set a new password with a reset token',
  description: 'Single use. Unlocks the account and ends every session.',
  request: { body: jsonBody(ResetPasswordSchema) },
  responses: { 204: { description: 'Password set' }, ...errorResponses(400) },
});

export const listSessions = gatedRoute(user, {
  operationId: 'listSessions',
  tags: ['Account'],
  method: 'get',
  path: '/api/v1/auth/sessions',
  summary: 'Your live sessions',
  responses: {
    200: { description: 'Most recently used first', content: json(SessionListSchema) },
  },
});

export const endSession = gatedRoute(user, {
  operationId: 'endSession',
  tags: ['Account'],
  method: 'delete',
  path: '/api/v1/auth/sessions/{session_id}',
  summary: 'End one session',
  description: 'Its refresh and access tokens stop working at once.',
  request: { params: SessionIdParamSchema },
  responses: { 204: { description: 'Ended' }, ...errorResponses(400, 403, 404) },
});

export const exportAccount = gatedRoute(user, {
  operationId: 'exportAccount',
  tags: ['Account'],
  method: 'get',
  path: '/api/v1/account/export',
  summary: 'Export all your data',
  description:
    'Profile, categories (at most 200), every live task (at most 10,000), the 10,000 most recently deleted tasks (`trash_truncated` says whether older ones were left out), and the category links of those tasks, as one JSON document. The body is streamed as it is read, a page at a time, so it is not a snapshot: a change made during the export may show in one part and not in another. A body that ends before the closing brace is a failed export: ask again.',
  responses: {
    200: {
      description: 'Everything',
      headers: {
        'Content-Disposition': {
          description: 'Saved as a file by browsers',
          required: true,
          schema: { type: 'string', enum: ['attachment; filename="edgetask-export.json"'] },
        },
      },
      content: json(AccountExportSchema),
    },
  },
});

// No cache invalidation: the after-response purge removes the user's cache, and a generation bump
// after it would leave a key behind.
export const deleteAccount = gatedRoute(user, {
  operationId: 'deleteAccount',
  tags: ['Account'],
  method: 'delete',
  path: '/api/v1/account',
  summary: 'Delete your account',
  description:
    'Needs the password (403 if wrong; wrong ones count toward the login lockout, 423 with Retry-After while locked). Deletes you and every row of yours; your tokens stop working at once.',
  request: { body: jsonBody(DeleteAccountSchema) },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 403, 423) },
});
