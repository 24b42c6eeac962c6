import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { toBase64Url } from './base64url.ts';

/**
 * Opaque tokens (refresh, email verification): 32 random bytes, base64url, 43 characters. Only
 * their SHA-256 is stored, so a database leak yields nothing that can be presented.
 */
export function newOpaqueToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

export function hashToken(token: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(token)));
}

/** The shape every token we issue has; anything else is refused before any lookup. */
export const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;
