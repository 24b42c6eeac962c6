import { decodeBase64Url, encodeBase64Url } from 'hono/utils/encode';

/**
 * base64url without padding (RFC 4648 section 5): how the API writes opaque tokens, cursors and
 * entity tags. hono's encoder keeps the padding, which none of them needs.
 */
export function toBase64Url(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  // slice(): a buffer of exactly these bytes (a view may sit inside a larger one).
  return encodeBase64Url(bytes.slice().buffer).replace(/=+$/, '');
}

/** The bytes of a base64url text (padding optional), or null when it is not base64url. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return null;
  try {
    return decodeBase64Url(text);
  } catch {
    return null;
  }
}
