import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * Opaque tokens (refresh, email verification): 32 random bytes, base64url, 43 characters. Only
 * their SHA-256 is stored, so a database leak yields nothing that can be presented.
 */
export function newOpaqueToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

export function hashToken(token: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(token)));
}

/** The shape every token we issue has; anything else is refused before any lookup. */
export const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;
