/**
 * EVAL, EVALSHA and SCRIPT LOAD (eval.c of Redis 7.0): the script cache keyed by sha1 of the full
 * body, shebang flags, and no-writes scripts.
 */

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { ReplyError } from '../redis-backend.ts';
import type { Reply } from '../redis-backend.ts';
import { bulk, CommandError, fail, latin1, lower, parseLL } from './context.ts';
import type { CommandDef, ExecContext, ScriptingHost } from './context.ts';
import { LuaVM } from './lua.ts';
import type { LuaHost } from './lua.ts';

const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';
const KNOWN_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

interface Script {
  ref: number;
  /** Shebang-less scripts run in "EVAL compat mode". */
  compat: boolean;
  noWrites: boolean;
}

interface Shebang {
  compat: boolean;
  noWrites: boolean;
  /** Length of the shebang line, which is blanked (keeping its '\n') so line numbers hold. */
  length: number;
}

/** evalExtractShebangFlags */
function parseShebang(body: Buffer): Shebang {
  if (body.length < 2 || body[0] !== 0x23 || body[1] !== 0x21) return { compat: true, noWrites: false, length: 0 };
  const nl = body.indexOf(0x0a);
  if (nl === -1) fail('ERR Invalid script shebang');
  const parts = latin1(body.subarray(0, nl))
    .split(/[ \t\r\v\f]+/)
    .filter((p) => p !== '');
  if (parts.length === 0) fail('ERR Invalid engine in script shebang');
  if (parts[0] !== '#!lua') fail(`ERR Unexpected engine in script shebang: ${parts[0]}`);
  let noWrites = false;
  for (const part of parts.slice(1)) {
    if (!part.startsWith('flags=')) fail(`ERR Unknown lua shebang option: ${part}`);
    const flags = part.slice(6);
    if (flags === '') continue;
    for (const flag of flags.split(',')) {
      if (!KNOWN_FLAGS.has(flag)) fail(`ERR Unexpected flag in script shebang: ${flag}`);
      if (flag === 'no-writes') noWrites = true;
    }
  }
  return { compat: false, noWrites, length: nl };
}

export class Scripting implements ScriptingHost {
  private readonly scripts = new Map<string, Script>();
  private vm: LuaVM | undefined;
  private readonly luaHost: LuaHost;
  /** Context of the script being run, for redis.call. */
  private running: ExecContext | undefined;
  private readonly callFromScript: (ctx: ExecContext, argv: Buffer[]) => Reply;

  constructor(callFromScript: (ctx: ExecContext, argv: Buffer[]) => Reply, commandExists: (name: string) => boolean) {
    this.callFromScript = callFromScript;
    this.luaHost = {
      call: (argv) => {
        if (this.running === undefined) return new ReplyError('ERR redis.call outside of a script');
        return this.callFromScript(this.running, argv);
      },
      commandExists,
    };
  }

  private lua(): LuaVM {
    this.vm ??= new LuaVM(this.luaHost);
    return this.vm;
  }

  /** luaCreateFunction: compile (or fail with Redis' message) and cache under the body's sha1. */
  private create(body: Buffer): { sha: string; script: Script } {
    const sha = createHash('sha1').update(body).digest('hex');
    const cached = this.scripts.get(sha);
    if (cached !== undefined) return { sha, script: cached };
    const shebang = parseShebang(body);
    const code = Buffer.from(body);
    code.fill(0x20, 0, shebang.length);
    const compiled = this.lua().compile(code);
    if (!compiled.ok) fail(`ERR Error compiling script (new function): ${compiled.error}`);
    const script: Script = { ref: compiled.ref, compat: shebang.compat, noWrites: shebang.noWrites };
    this.scripts.set(sha, script);
    return { sha, script };
  }

  eval(ctx: ExecContext, argv: Buffer[], bySha: boolean): Reply {
    if (bySha && argv[1]!.length !== 40) fail(NOSCRIPT);
    const numkeys = parseLL(argv[2]!);
    if (numkeys > BigInt(argv.length - 3)) fail("ERR Number of keys can't be greater than number of args");
    if (numkeys < 0n) fail("ERR Number of keys can't be negative");
    let sha: string;
    let script: Script | undefined;
    if (bySha) {
      sha = lower(argv[1]!);
      script = this.scripts.get(sha);
      if (script === undefined) fail(NOSCRIPT);
    } else {
      ({ sha, script } = this.create(argv[1]!));
    }
    const n = Number(numkeys);
    const keys = argv.slice(3, 3 + n);
    const args = argv.slice(3 + n);
    const outer = this.running;
    const frozen = ctx.now();
    const scriptCtx: ExecContext = {
      ks: ctx.ks,
      scripting: this,
      // Redis freezes the clock for the whole script, so expiry is consistent within it.
      now: () => frozen,
      script: { readOnly: !script.compat && script.noWrites },
    };
    this.running = scriptCtx;
    const prevFreeze = ctx.ks.freeze(frozen);
    try {
      return this.lua().run(script.ref, sha, keys, args);
    } catch (e) {
      if (e instanceof CommandError) throw e;
      // A JS-level failure inside fengari may leave the Lua state inconsistent: start afresh, as
      // a restarted server would.
      this.flush();
      return new ReplyError(`ERR Error running script ${sha}: embedded Lua engine failure: ${String(e)}`);
    } finally {
      ctx.ks.freeze(prevFreeze);
      this.running = outer;
    }
  }

  load(body: Buffer): Reply {
    return bulk(this.create(body).sha);
  }

  /** Starts afresh, as a restarted server would: the Lua state and the script cache go. */
  private flush(): void {
    this.scripts.clear();
    this.vm = undefined;
  }
}

export const scriptingCommands: CommandDef[] = [
  { name: 'eval', arity: -3, noscript: true, run: (c, a) => c.scripting.eval(c, a, false) },
  { name: 'evalsha', arity: -3, noscript: true, run: (c, a) => c.scripting.eval(c, a, true) },
  {
    name: 'script',
    arity: -2,
    subcommands: {
      load: { name: 'script|load', arity: 3, noscript: true, run: (c, a) => c.scripting.load(a[2]!) },
    },
  },
];
