/**
 * The Lua side of EVAL: one fengari state per engine (as Redis keeps one per server), set up like
 * Redis 7.0's scripting environment (5.1 library surface, read-only globals, redis.* API, the
 * __redis__err__handler that turns every error into {err=, source=, line=}), plus the two reply
 * conversions Redis defines between RESP2 and Lua values. No cjson, cmsgpack or struct: no script
 * edgetask sends uses them, so a script that does fails on the missing global.
 */

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Fengari, LuaState } from 'fengari';
import { ReplyError, StatusReply } from '../redis-backend.ts';
import type { Reply } from '../redis-backend.ts';
import { loadFengari } from './fengari-loader.ts';
import { formatG } from './numbers.ts';

export interface LuaHost {
  /** Runs a command for redis.call/pcall; every failure (script-level or command) is a ReplyError. */
  call(argv: Buffer[]): Reply;
  commandExists(name: string): boolean;
}

export type CompileResult = { ok: true; ref: number } | { ok: false; error: string };

/** Wall-clock budget before a runaway script is aborted (Redis would keep running it). */
const SCRIPT_TIME_LIMIT_MS = 60_000;

const INIT_CHUNK = `
local js = ...
local pairs, ipairs, rawset, setmetatable, type, tostring, error, math, table, string =
      pairs, ipairs, rawset, setmetatable, type, tostring, error, math, table, string
local G = _G

unpack = table.unpack
-- Redis 7.0 wraps pcall so that an error table with an err field reaches the script as that
-- string (luaRedisPcall); everything else is Lua's pcall.
local lua_pcall, pack, select = pcall, table.pack, select
pcall = function(...)
  local r = pack(lua_pcall(...))
  if not r[1] then
    local e = r[2]
    if type(e) == 'table' then
      local m = e.err
      if type(m) == 'string' or type(m) == 'number' then return false, m end
    end
    return false, e
  end
  return unpack(r, 1, r.n)
end
loadstring = load
gcinfo = function() return math.floor(collectgarbage('count')) end
table.getn = function(t) return #t end
table.maxn = function(t)
  local m = 0
  for k in pairs(t) do if type(k) == 'number' and k > m then m = k end end
  return m
end
table.foreach = function(t, f)
  for k, v in pairs(t) do local r = f(k, v) if r ~= nil then return r end end
end
table.foreachi = function(t, f)
  for i = 1, #t do local r = f(i, t[i]) if r ~= nil then return r end end
end
table.setn = function() error("'setn' is obsolete", 2) end
table.unpack, table.pack, table.move = nil, nil, nil
string.gfind = string.gmatch
string.pack, string.packsize, string.unpack = nil, nil, nil
math.atan2 = math.atan
math.pow = function(x, y) return x ^ y end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp, math.cosh, math.sinh, math.tanh, math.log10 = js.frexp, js.cosh, js.sinh, js.tanh, js.log10
math.mod = math.fmod
math.random, math.randomseed = js.random, js.randomseed
math.maxinteger, math.mininteger, math.tointeger, math.type, math.ult = nil, nil, nil, nil, nil
print, dofile, loadfile, rawlen = nil, nil, nil, nil
_VERSION = 'Lua 5.1'
bit = js.bit
redis = js.redis

local dbg = debug
debug = nil
-- Verbatim logic of Redis 7.0's handler: errors raised by C (here JS) functions are attributed
-- to the Lua line that called them; non-table errors become {err='ERR ' .. msg}.
function __redis__err__handler(err)
  local i = dbg.getinfo(2, 'nSl')
  if i and (i.what == 'C' or i.what == 'J') then
    i = dbg.getinfo(3, 'nSl')
  end
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

local real = {}
for k, v in pairs(G) do real[k] = v end
for k in pairs(real) do rawset(G, k, nil) end
real._G = G
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'bit', 'redis'}) do
  real[name] = setmetatable({}, {__index = real[name], __newindex = js.readonly})
end
setmetatable(real, {__index = js.missing_global})
setmetatable(G, {__index = real, __newindex = js.readonly})
return real
`;

export class LuaVM {
  private readonly f: Fengari;
  /** The thread currently calling into JS (a coroutine's own state inside coroutines). */
  private L: LuaState;
  private readonly mainL: LuaState;
  private readonly host: LuaHost;
  private readonly realGlobalsRef: number;
  private readonly handlerRef: number;
  /** redisLrand48 state (48 bits): its static initial value; Redis never reseeds it per script. */
  private rand48 = 0x1234abcd330en;
  private deadline = 0;

  constructor(host: LuaHost) {
    this.host = host;
    this.f = loadFengari();
    const { lua, lauxlib, lualib } = this.f;
    const L = lauxlib.luaL_newstate();
    this.L = L;
    this.mainL = L;
    const libs: [string, (L: LuaState) => number][] = [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
      ['coroutine', lualib.luaopen_coroutine],
      ['debug', lualib.luaopen_debug],
    ];
    for (const [name, open] of libs) {
      lauxlib.luaL_requiref(L, this.s(name), open, 1);
      lua.lua_pop(L, 1);
    }
    const init = this.s(INIT_CHUNK);
    if (lauxlib.luaL_loadbuffer(L, init, init.length, this.s('=redis_init')) !== lua.LUA_OK) {
      throw new Error(`Lua init failed: ${lua.lua_tojsstring(L, -1)}`);
    }
    this.pushHelpers();
    if (lua.lua_pcall(L, 1, 1, 0) !== lua.LUA_OK) {
      throw new Error(`Lua init failed: ${lua.lua_tojsstring(L, -1)}`);
    }
    lua.lua_getfield(L, -1, this.s('__redis__err__handler'));
    this.handlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.realGlobalsRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_sethook(
      L,
      (hl: LuaState) => {
        if (Date.now() > this.deadline) {
          this.L = hl;
          this.pushErrorTable('Script killed by user with SCRIPT KILL...');
          lua.lua_error(hl);
        }
      },
      lua.LUA_MASKCOUNT,
      100_000,
    );
  }

  private s(text: string): Uint8Array {
    return this.f.to_luastring(text);
  }

  /** Compiles a script body (shebang line already blanked) into a function kept in the registry. */
  compile(body: Uint8Array): CompileResult {
    const { lua, lauxlib } = this.f;
    const L = this.mainL;
    const status = lauxlib.luaL_loadbuffer(L, body, body.length, this.s('@user_script'));
    if (status !== lua.LUA_OK) {
      const msg = this.toText(-1);
      lua.lua_pop(L, 1);
      return { ok: false, error: msg };
    }
    return { ok: true, ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX) };
  }

  /** Runs a compiled script: KEYS/ARGV as globals, the reply converted the way Redis does. */
  run(ref: number, sha: string, keys: Uint8Array[], args: Uint8Array[]): Reply {
    const { lua } = this.f;
    this.L = this.mainL;
    const L = this.L;
    const base = lua.lua_gettop(L);
    try {
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.realGlobalsRef);
      this.pushStringArray(keys);
      lua.lua_setfield(L, -2, this.s('KEYS'));
      this.pushStringArray(args);
      lua.lua_setfield(L, -2, this.s('ARGV'));
      lua.lua_pop(L, 1);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.handlerRef);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
      this.deadline = Date.now() + SCRIPT_TIME_LIMIT_MS;
      const status = lua.lua_pcall(L, 0, 1, base + 1);
      if (status !== lua.LUA_OK) return this.scriptError(sha);
      return this.toReply(lua.lua_gettop(L));
    } finally {
      lua.lua_settop(L, base);
    }
  }

  /** luaCallFunction's error path: "-<err> script: <sha>, on <source>:<line>." */
  private scriptError(sha: string): ReplyError {
    const { lua } = this.f;
    const L = this.L;
    const t = lua.lua_gettop(L);
    if (lua.lua_type(L, t) !== lua.LUA_TTABLE) {
      const msg = lua.lua_isstring(L, t) ? this.toText(t) : 'execution failure';
      return new ReplyError(`ERR Error running script ${sha}, ${msg.slice(0, 100)}`);
    }
    const field = (name: string): string | undefined => {
      lua.lua_getfield(L, t, this.s(name));
      const v = lua.lua_isstring(L, -1) ? this.toText(-1) : undefined;
      lua.lua_pop(L, 1);
      return v;
    };
    // A table without err crashes redis-server 7.0.15 (NULL in sdscatfmt); answer something sane.
    const msg = field('err') ?? 'ERR unknown error';
    const source = field('source');
    const line = field('line');
    const suffix = source !== undefined && line !== undefined ? ` script: ${sha}, on ${source}:${line}.` : '';
    return new ReplyError(msg + suffix);
  }

  private toText(idx: number): string {
    const s = this.f.lua.lua_tolstring(this.L, idx);
    return s === null ? '' : Buffer.from(s).toString('utf8');
  }

  private pushStringArray(items: Uint8Array[]): void {
    const { lua } = this.f;
    lua.lua_createtable(this.L, items.length, 0);
    items.forEach((item, i) => {
      lua.lua_pushlstring(this.L, item, item.length);
      lua.lua_rawseti(this.L, -2, i + 1);
    });
  }

  /** RESP2 → Lua (redisProtocolToLuaType): integers become numbers, nil becomes false. */
  private pushReply(r: Reply): void {
    const { lua } = this.f;
    const L = this.L;
    lua.lua_checkstack(L, 4);
    if (r === null) lua.lua_pushboolean(L, false);
    else if (typeof r === 'number' || typeof r === 'bigint') this.pushNumber(Number(r));
    else if (r instanceof Uint8Array) lua.lua_pushlstring(L, r, r.length);
    else if (r instanceof StatusReply) this.pushSingleFieldTable('ok', r.status);
    else if (r instanceof ReplyError) this.pushErrorTable(`-${r.message}`);
    else {
      lua.lua_createtable(L, r.length, 0);
      r.forEach((item, i) => {
        this.pushReply(item);
        lua.lua_rawseti(L, -2, i + 1);
      });
    }
  }

  /** Lua 5.1 has only doubles; fengari integers are 32-bit, so larger values go in as floats. */
  private pushNumber(n: number): void {
    const { lua } = this.f;
    if (Number.isInteger(n) && n >= -2147483648 && n <= 2147483647) lua.lua_pushinteger(this.L, n);
    else lua.lua_pushnumber(this.L, n);
  }

  private pushSingleFieldTable(field: string, value: string): void {
    const { lua } = this.f;
    lua.lua_createtable(this.L, 0, 1);
    lua.lua_pushstring(this.L, this.s(value));
    lua.lua_setfield(this.L, -2, this.s(field));
  }

  /**
   * luaPushErrorBuff: "-CODE msg" keeps its code ("-msg" without a space gets "ERR"); any other
   * text is a message of Redis' own and always gets "ERR " in front.
   */
  private pushErrorTable(message: string): void {
    let text: string;
    if (message.startsWith('-')) {
      const raw = message.slice(1);
      const space = raw.indexOf(' ');
      text = space === -1 ? `ERR ${raw}` : `${raw.slice(0, space)} ${raw.slice(space + 1)}`;
    } else text = `ERR ${message}`;
    this.pushSingleFieldTable('err', text.replace(/[\r\n]+$/, ''));
  }

  /** Lua → RESP2 (luaReplyToRedisReply). */
  private toReply(idx: number): Reply {
    const { lua } = this.f;
    const L = this.L;
    const t = lua.lua_absindex(L, idx);
    switch (lua.lua_type(L, t)) {
      case lua.LUA_TSTRING:
        return Buffer.from(lua.lua_tolstring(L, t)!);
      case lua.LUA_TBOOLEAN:
        return lua.lua_toboolean(L, t) ? 1 : null;
      case lua.LUA_TNUMBER:
        return luaNumberToInteger(lua.lua_tonumber(L, t));
      case lua.LUA_TTABLE:
        return this.tableToReply(t);
      default:
        return null;
    }
  }

  private tableToReply(t: number): Reply {
    const { lua } = this.f;
    const L = this.L;
    lua.lua_checkstack(L, 4);
    const rawField = (name: string): number => {
      lua.lua_pushstring(L, this.s(name));
      lua.lua_rawget(L, t);
      return lua.lua_type(L, -1);
    };
    if (rawField('err') === lua.LUA_TSTRING) {
      const msg = this.toText(-1);
      lua.lua_pop(L, 1);
      return new ReplyError(msg.replace(/[\r\n]/g, ' '));
    }
    lua.lua_pop(L, 1);
    if (rawField('ok') === lua.LUA_TSTRING) {
      const msg = this.toText(-1);
      lua.lua_pop(L, 1);
      return new StatusReply(msg.replace(/[\r\n]/g, ' '));
    }
    lua.lua_pop(L, 1);
    if (rawField('double') === lua.LUA_TNUMBER) {
      const d = lua.lua_tonumber(L, -1);
      lua.lua_pop(L, 1);
      return Buffer.from(formatG(d, 17), 'latin1');
    }
    lua.lua_pop(L, 1);
    if (rawField('big_number') === lua.LUA_TSTRING) {
      const b = Buffer.from(lua.lua_tolstring(L, -1)!);
      lua.lua_pop(L, 1);
      return b;
    }
    lua.lua_pop(L, 1);
    const out: Reply[] = [];
    for (let j = 1; ; j++) {
      lua.lua_rawgeti(L, t, j);
      if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
        lua.lua_pop(L, 1);
        break;
      }
      out.push(this.toReply(-1));
      lua.lua_pop(L, 1);
    }
    return out;
  }

  /** luaArgsToRedisArgv: strings as bytes, numbers as "%.17g", anything else refused. */
  private argsToArgv(): Buffer[] | string {
    const { lua } = this.f;
    const L = this.L;
    const argc = lua.lua_gettop(L);
    if (argc === 0) return 'Please specify at least one argument for this redis lib call';
    const argv: Buffer[] = [];
    for (let j = 1; j <= argc; j++) {
      const type = lua.lua_type(L, j);
      if (type === lua.LUA_TNUMBER) {
        const text = lua.lua_isinteger(L, j) ? String(lua.lua_tointeger(L, j)) : printfG17(lua.lua_tonumber(L, j));
        argv.push(Buffer.from(text, 'latin1'));
      } else if (type === lua.LUA_TSTRING) {
        argv.push(Buffer.from(lua.lua_tolstring(L, j)!));
      } else return 'Lua redis lib command arguments must be strings or integers';
    }
    return argv;
  }

  private redisCall(raise: boolean): number {
    const { lua } = this.f;
    const L = this.L;
    const argv = this.argsToArgv();
    if (typeof argv === 'string') {
      this.pushErrorTable(argv);
      return raise ? lua.lua_error(L) : 1;
    }
    let reply: Reply;
    try {
      reply = this.host.call(argv);
    } catch (e) {
      reply = new ReplyError(`ERR embedded engine failure: ${String(e)}`);
    }
    lua.lua_settop(L, 0);
    if (reply instanceof ReplyError) {
      this.pushErrorTable(`-${reply.message}`);
      return raise ? lua.lua_error(L) : 1;
    }
    this.pushReply(reply);
    return 1;
  }

  /** Raises like luaL_error from a C function: positioned at the calling Lua line. */
  private raisePositioned(message: string): number {
    const { lua, lauxlib } = this.f;
    lauxlib.luaL_where(this.L, 1);
    lua.lua_pushstring(this.L, this.s(message));
    lua.lua_concat(this.L, 2);
    return lua.lua_error(this.L);
  }

  private raiseTable(message: string): number {
    this.pushErrorTable(message);
    return this.f.lua.lua_error(this.L);
  }

  /** JS functions run on the calling thread's state, which differs inside coroutines. */
  private wrap(fn: (L: LuaState) => number): (L: LuaState) => number {
    return (calling: LuaState) => {
      const prev = this.L;
      this.L = calling;
      try {
        return fn(calling);
      } finally {
        this.L = prev;
      }
    };
  }

  private nextRand48(): number {
    this.rand48 = (0x5deece66dn * this.rand48 + 0xbn) & 0xffffffffffffn;
    return Number(this.rand48 >> 17n);
  }

  private pushHelpers(): void {
    const { lua, lauxlib } = this.f;
    const fns: Record<string, (L: LuaState) => number> = {
      readonly: () => this.raisePositioned('Attempt to modify a readonly table'),
      missing_global: () => {
        const name = lua.lua_isstring(this.L, 2) ? this.toText(2) : '?';
        return this.raisePositioned(`Script attempted to access nonexistent global variable '${name}'`);
      },
      frexp: () => {
        const [m, e] = frexp(lauxlib.luaL_checknumber(this.L, 1));
        lua.lua_pushnumber(this.L, m);
        this.pushNumber(e);
        return 2;
      },
      cosh: () => (lua.lua_pushnumber(this.L, Math.cosh(lauxlib.luaL_checknumber(this.L, 1))), 1),
      sinh: () => (lua.lua_pushnumber(this.L, Math.sinh(lauxlib.luaL_checknumber(this.L, 1))), 1),
      tanh: () => (lua.lua_pushnumber(this.L, Math.tanh(lauxlib.luaL_checknumber(this.L, 1))), 1),
      log10: () => (lua.lua_pushnumber(this.L, Math.log10(lauxlib.luaL_checknumber(this.L, 1))), 1),
      // redis_math_random: lrand48-based, deterministic sequence shared by all scripts.
      random: () => {
        const max = 2147483647;
        const r = (this.nextRand48() % max) / max;
        const argc = lua.lua_gettop(this.L);
        if (argc === 0) lua.lua_pushnumber(this.L, r);
        else if (argc === 1) {
          const u = Math.trunc(lauxlib.luaL_checknumber(this.L, 1));
          lauxlib.luaL_argcheck(this.L, 1 <= u, 1, this.s('interval is empty'));
          this.pushNumber(Math.floor(r * u) + 1);
        } else if (argc === 2) {
          const l = Math.trunc(lauxlib.luaL_checknumber(this.L, 1));
          const u = Math.trunc(lauxlib.luaL_checknumber(this.L, 2));
          lauxlib.luaL_argcheck(this.L, l <= u, 2, this.s('interval is empty'));
          this.pushNumber(Math.floor(r * (u - l + 1)) + l);
        } else return lauxlib.luaL_error(this.L, this.s('wrong number of arguments'));
        return 1;
      },
      randomseed: () => {
        const seed = Math.trunc(lauxlib.luaL_checknumber(this.L, 1)) | 0;
        this.rand48 = ((BigInt(seed >>> 0) & 0xffffffffn) << 16n) | 0x330en;
        return 0;
      },
    };
    lua.lua_createtable(this.L, 0, 16);
    for (const [name, fn] of Object.entries(fns)) {
      lua.lua_pushjsfunction(this.L, this.wrap(fn));
      lua.lua_setfield(this.L, -2, this.s(name));
    }
    this.pushBitLib();
    lua.lua_setfield(this.L, -2, this.s('bit'));
    this.pushRedisLib();
    lua.lua_setfield(this.L, -2, this.s('redis'));
  }

  private pushRedisLib(): void {
    const { lua } = this.f;
    const fns: Record<string, (L: LuaState) => number> = {
      call: () => this.redisCall(true),
      pcall: () => this.redisCall(false),
      error_reply: () => {
        if (lua.lua_gettop(this.L) !== 1 || lua.lua_type(this.L, -1) !== lua.LUA_TSTRING) {
          this.pushErrorTable('wrong number or type of arguments');
          return 1;
        }
        const msg = this.toText(-1);
        this.pushErrorTable(msg.startsWith('-') ? msg : `-${msg}`);
        return 1;
      },
      status_reply: () => {
        if (lua.lua_gettop(this.L) !== 1 || lua.lua_type(this.L, -1) !== lua.LUA_TSTRING) {
          this.pushErrorTable('wrong number or type of arguments');
          return 1;
        }
        lua.lua_createtable(this.L, 0, 1);
        lua.lua_pushvalue(this.L, 1);
        lua.lua_setfield(this.L, -2, this.s('ok'));
        return 1;
      },
      sha1hex: () => {
        if (lua.lua_gettop(this.L) !== 1) return this.raiseTable('wrong number of arguments');
        const s = lua.lua_tolstring(this.L, 1);
        const hex = createHash('sha1')
          .update(s ?? new Uint8Array(0))
          .digest('hex');
        lua.lua_pushstring(this.L, this.s(hex));
        return 1;
      },
      log: () => {
        const argc = lua.lua_gettop(this.L);
        if (argc < 2) return this.raiseTable('redis.log() requires two arguments or more.');
        if (!lua.lua_isnumber(this.L, 1)) return this.raiseTable('First argument must be a number (log level).');
        const level = lua.lua_tonumber(this.L, 1);
        if (level < 0 || level > 3) return this.raiseTable('Invalid debug level.');
        return 0;
      },
      setresp: () => {
        if (lua.lua_gettop(this.L) !== 1) return this.raiseTable('redis.setresp() requires one argument.');
        const v = lua.lua_tonumber(this.L, 1);
        if (v !== 2 && v !== 3) return this.raiseTable('RESP version must be 2 or 3.');
        // Fail loudly rather than convert replies the RESP2 way behind the script's back.
        if (v === 3) return this.raiseTable('RESP3 replies are not supported by the embedded Redis stand-in');
        return 0;
      },
      set_repl: () => {
        if (lua.lua_gettop(this.L) !== 1) return this.raiseTable('redis.set_repl() requires one argument.');
        return 0;
      },
      replicate_commands: () => {
        lua.lua_pushboolean(this.L, true);
        return 1;
      },
      breakpoint: () => {
        lua.lua_pushboolean(this.L, false);
        return 1;
      },
      debug: () => 0,
      acl_check_cmd: () => {
        if (lua.lua_gettop(this.L) < 1)
          return this.raiseTable('Please specify at least one argument for this redis lib call');
        const name = lua.lua_isstring(this.L, 1) ? this.toText(1).toLowerCase() : '';
        if (!this.host.commandExists(name)) return this.raiseTable('Invalid command passed to redis.acl_check_cmd()');
        lua.lua_pushboolean(this.L, true);
        return 1;
      },
    };
    lua.lua_createtable(this.L, 0, 32);
    for (const [name, fn] of Object.entries(fns)) {
      lua.lua_pushjsfunction(this.L, this.wrap(fn));
      lua.lua_setfield(this.L, -2, this.s(name));
    }
    const ints: Record<string, number> = {
      LOG_DEBUG: 0,
      LOG_VERBOSE: 1,
      LOG_NOTICE: 2,
      LOG_WARNING: 3,
      REPL_NONE: 0,
      REPL_AOF: 1,
      REPL_SLAVE: 2,
      REPL_REPLICA: 2,
      REPL_ALL: 3,
      REDIS_VERSION_NUM: 0x07000f,
    };
    for (const [name, v] of Object.entries(ints)) {
      lua.lua_pushinteger(this.L, v);
      lua.lua_setfield(this.L, -2, this.s(name));
    }
    lua.lua_pushstring(this.L, this.s('7.0.15'));
    lua.lua_setfield(this.L, -2, this.s('REDIS_VERSION'));
  }

  /** LuaBitOp 1.0.2 as bundled with Redis: arguments normalised with the 2^52+2^51 trick. */
  private pushBitLib(): void {
    const { lua } = this.f;
    const f64 = new Float64Array(1);
    const u32 = new Uint32Array(f64.buffer);
    const barg = (idx: number): number => {
      f64[0] = this.f.lauxlib.luaL_checknumber(this.L, idx) + 6755399441055744.0;
      return u32[0]! | 0;
    };
    const ret = (v: number): number => {
      lua.lua_pushinteger(this.L, v | 0);
      return 1;
    };
    const fold = (op: (a: number, b: number) => number) => (): number => {
      let b = barg(1);
      for (let i = lua.lua_gettop(this.L); i > 1; i--) b = op(b, barg(i));
      return ret(b);
    };
    const fns: Record<string, (L: LuaState) => number> = {
      tobit: () => ret(barg(1)),
      bnot: () => ret(~barg(1)),
      band: fold((a, b) => a & b),
      bor: fold((a, b) => a | b),
      bxor: fold((a, b) => a ^ b),
      lshift: () => ret(barg(1) << (barg(2) & 31)),
      rshift: () => ret(barg(1) >>> (barg(2) & 31)),
      arshift: () => ret(barg(1) >> (barg(2) & 31)),
      rol: () => {
        const b = barg(1);
        const n = barg(2) & 31;
        return ret((b << n) | (b >>> (32 - n)));
      },
      ror: () => {
        const b = barg(1);
        const n = barg(2) & 31;
        return ret((b >>> n) | (b << (32 - n)));
      },
      bswap: () => {
        const b = barg(1);
        return ret(((b >>> 24) & 0xff) | ((b >>> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24));
      },
      tohex: () => {
        let b = barg(1) >>> 0;
        let n = lua.lua_isnoneornil(this.L, 2) ? 8 : barg(2);
        let digits = '0123456789abcdef';
        if (n < 0) {
          n = -n;
          digits = '0123456789ABCDEF';
        }
        if (n > 8) n = 8;
        let out = '';
        for (let i = 0; i < n; i++) {
          out = digits[b & 15]! + out;
          b >>>= 4;
        }
        lua.lua_pushstring(this.L, this.s(out));
        return 1;
      },
    };
    lua.lua_createtable(this.L, 0, 12);
    for (const [name, fn] of Object.entries(fns)) {
      lua.lua_pushjsfunction(this.L, this.wrap(fn));
      lua.lua_setfield(this.L, -2, this.s(name));
    }
  }
}

/** (long long) of a double on x86-64: truncation; NaN and out-of-range give LLONG_MIN. */
export function luaNumberToInteger(n: number): number | bigint {
  const t = Math.trunc(n);
  if (!(Math.abs(t) < 2 ** 63)) return -(2n ** 63n);
  return Number.isSafeInteger(t) || Math.abs(t) <= 2 ** 53 ? (Object.is(t, -0) ? 0 : t) : BigInt(t);
}

function printfG17(n: number): string {
  return Number.isNaN(n) ? '-nan' : formatG(n, 17);
}

function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let m = x * 2 ** -e;
  while (Math.abs(m) < 0.5) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) >= 1) {
    m /= 2;
    e++;
  }
  return [m, e];
}
