/**
 * What every command implementation shares: the command table shape, the execution context, and
 * the argument parsers that produce Redis' exact error replies.
 */

import { Buffer } from 'node:buffer';
import { ReplyError, StatusReply } from '../redis-backend.ts';
import type { Reply } from '../redis-backend.ts';
import type { Keyspace } from './keyspace.ts';
import { string2ll } from './numbers.ts';

/** Thrown by command code to produce an error reply; never escapes the engine. */
export class CommandError extends Error {
  readonly reply: string;
  constructor(reply: string) {
    super(reply);
    this.reply = reply;
  }
}

export function fail(message: string): never {
  throw new CommandError(message);
}

export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';

export const OK = new StatusReply('OK');

export interface ScriptRunState {
  readOnly: boolean;
}

export interface ExecContext {
  readonly ks: Keyspace;
  /** Current time in ms; frozen while a script runs, as Redis does. */
  now(): number;
  readonly scripting: ScriptingHost;
  /** Set while a Lua script runs (redis.call dispatches through runFromScript). */
  script: ScriptRunState | undefined;
}

/** Implemented by scripting.ts; kept as an interface to avoid an import cycle. */
export interface ScriptingHost {
  eval(ctx: ExecContext, argv: Buffer[], bySha: boolean): Reply;
  load(body: Buffer): Reply;
}

export interface CommandDef {
  /** Lowercase full name as Redis prints it in errors ("get", "script|load"). */
  name: string;
  arity: number;
  write?: boolean;
  noscript?: boolean;
  run?: (ctx: ExecContext, argv: Buffer[]) => Reply;
  subcommands?: Record<string, CommandDef>;
}

export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** ASCII lowercase, the way strcasecmp compares option names. */
export function lower(b: Uint8Array): string {
  return asBuffer(b).toString('latin1').toLowerCase();
}

export function latin1(b: Uint8Array): string {
  return asBuffer(b).toString('latin1');
}

/** getLongLongFromObjectOrReply */
export function parseLL(b: Uint8Array, message = NOT_INTEGER): bigint {
  const v = string2ll(b);
  if (v === null) fail(message);
  return v;
}

export function bulk(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

export function errorReply(e: unknown): ReplyError {
  if (e instanceof CommandError) return new ReplyError(e.reply);
  throw e;
}
