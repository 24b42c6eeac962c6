// src/lib/jwt.ts (imported to mint the same tokens the Worker issues) names Web Crypto's
// JsonWebKey, a global in the Worker's types; Node's types keep it under webcrypto.
declare global {
  type JsonWebKey = import('node:crypto').webcrypto.JsonWebKey;
}
export {};
