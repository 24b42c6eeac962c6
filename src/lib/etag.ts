import { toBase64Url } from './base64url.ts';
import { AppError } from './errors.ts';

/**
 * Entity tags (RFC 9110 section 8.8.3) for tasks and task lists. A task's tag is its id and version:
 * every change the API can show (fields, deletion, restore, category links) increments the version,
 * so the pair names one representation. A list's tag is a digest of the JSON it answers with.
 */

export function versionEtag(task: { id: string; version: number }): string {
  return `"${task.id}.${task.version}"`;
}

export async function bodyEtag(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  return `"l.${toBase64Url(digest.subarray(0, 16))}"`;
}

const ENTITY_TAG = /\s*(W\/)?"([\x21\x23-\x7e]*)"\s*(?:,|$)/y;

/** The entity tags of an If-Match or If-None-Match list; `*` alone is returned as '*'; null if malformed. */
export function parseEtagList(header: string): { weak: boolean; tag: string }[] | '*' | null {
  if (header.trim() === '*') return '*';
  const tags: { weak: boolean; tag: string }[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < header.length) {
    const start = ENTITY_TAG.lastIndex;
    const match = ENTITY_TAG.exec(header);
    if (!match) return header.slice(start).trim() === '' ? tags : null;
    tags.push({ weak: match[1] !== undefined, tag: `"${match[2]}"` });
  }
  return tags;
}

/** If-None-Match uses the weak comparison: a match means the client's copy is current (304). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const tags = parseEtagList(header);
  if (tags === '*') return false;
  // A malformed header is ignored, as if absent: the client gets the full response.
  if (tags === null) return true;
  return !tags.some((t) => t.tag === etag);
}

/**
 * The task versions an If-Match header accepts, by the strong comparison (a weak tag never
 * matches): '*' for any current version, a list (maybe empty) otherwise, undefined when absent.
 */
export function ifMatchVersions(header: string | undefined, taskId: string): number[] | '*' | undefined | null {
  if (header === undefined) return undefined;
  const tags = parseEtagList(header);
  if (tags === null) return null;
  if (tags === '*') return '*';
  const versions: number[] = [];
  for (const { weak, tag } of tags) {
    if (weak) continue;
    const match = /^"([0-9a-f-]{36})\.([1-9][0-9]{0,9})"$/.exec(tag);
    if (match?.[1] === taskId.toLowerCase() && Number(match[2]) <= 2_147_483_647) versions.push(Number(match[2]));
  }
  return versions;
}

/** The version a write expects: the body's `version` (409 when stale) or If-Match (412). */
export type VersionCheck = { from: 'body'; version: number } | { from: 'if-match'; versions: number[] | '*' };

/** A write refused for its version: 412 when If-Match said it, 409 (with the current one) otherwise. */
export function staleVersion(
  kind: 'task' | 'category',
  check: VersionCheck | undefined,
  currentVersion: number | null | undefined,
): AppError {
  const extensions = { current_version: currentVersion };
  if (check?.from === 'if-match')
    return new AppError('PRECONDITION_FAILED', `The ${kind} changed since you read it: its ETag is another one now.`, {
      extensions,
    });
  const detail = `The ${kind} changed since you read it. Read it again and reapply your change.`;
  return new AppError('CONFLICT', detail, { extensions });
}
