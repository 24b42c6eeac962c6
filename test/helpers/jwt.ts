/** Hand-made JWTs, so each hostile token differs from a good one in exactly one way. */

export function b64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export const jwtPart = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));

export async function craftJwt(
  payload: unknown,
  options: { header: Record<string, unknown>; secret: string; hash?: 'SHA-256' | 'SHA-512' },
): Promise<string> {
  const input = `${jwtPart(options.header)}.${jwtPart(payload)}`;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(options.secret),
    { name: 'HMAC', hash: options.hash ?? 'SHA-256' },
    false,
    ['sign'],
  );
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}
