import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { AppError } from '../lib/errors.ts';
import { ifMatchVersions, type VersionCheck } from '../lib/etag.ts';

/**
 * The version a write expects: If-Match when sent (412 on a mismatch), else the body's `version`
 * (409). Both may be sent only if they agree. Tasks and categories have the same "<id>.<version>" tags.
 */
export function versionCheck(
  c: Context<AppEnv>,
  taskId: string,
  bodyVersion: number | undefined,
): VersionCheck | undefined {
  const versions = ifMatchVersions(c.req.header('If-Match'), taskId);
  if (versions === null) {
    throw new AppError('VALIDATION_FAILED', 'The If-Match header is not a list of entity tags.', {
      errors: [{ pointer: '/header/If-Match', message: 'Expected "*" or ETags like "<task id>.<version>"' }],
    });
  }
  if (versions === undefined) return bodyVersion === undefined ? undefined : { from: 'body', version: bodyVersion };
  if (bodyVersion !== undefined && versions !== '*' && !versions.includes(bodyVersion)) {
    throw new AppError('VALIDATION_FAILED', 'The body version and the If-Match header disagree.', {
      errors: [{ pointer: '/body/version', message: 'Does not match If-Match; send one of them' }],
    });
  }
  return { from: 'if-match', versions };
}

/** An update's version check, which must exist: If-Match or the body's `version`. */
export function requiredVersionCheck(c: Context<AppEnv>, id: string, bodyVersion: number | undefined): VersionCheck {
  const check = versionCheck(c, id, bodyVersion);
  if (!check) {
    throw new AppError('VALIDATION_FAILED', 'Say which version you are changing.', {
      errors: [{ pointer: '/body/version', message: 'Required unless an If-Match header is sent' }],
    });
  }
  return check;
}
