/**
 * The part of fengari 0.1.5 (CommonJS, untyped) the embedded Redis uses. Lua strings are
 * Uint8Array; JS functions pushed into Lua receive the calling thread's state.
 */
declare module 'fengari' {
  /** Opaque lua_State. */
  export interface LuaState {
    readonly __luaState: never;
  }

  export type LuaJsFunction = (L: LuaState) => number;

  export interface FengariLua {
    readonly LUA_OK: number;
    readonly LUA_TNIL: number;
    readonly LUA_TBOOLEAN: number;
    readonly LUA_TNUMBER: number;
    readonly LUA_TSTRING: number;
    readonly LUA_TTABLE: number;
    readonly LUA_TLIGHTUSERDATA: number;
    readonly LUA_REGISTRYINDEX: number;
    readonly LUA_MASKCOUNT: number;
    lua_absindex(L: LuaState, idx: number): number;
    lua_checkstack(L: LuaState, n: number): boolean;
    lua_concat(L: LuaState, n: number): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_error(L: LuaState): never;
    lua_getfield(L: LuaState, idx: number, k: Uint8Array): number;
    lua_gettop(L: LuaState): number;
    lua_isinteger(L: LuaState, idx: number): boolean;
    lua_isnoneornil(L: LuaState, idx: number): boolean;
    lua_isnumber(L: LuaState, idx: number): boolean;
    lua_isstring(L: LuaState, idx: number): boolean;
    lua_next(L: LuaState, idx: number): boolean;
    lua_pushnil(L: LuaState): void;
    lua_pushlightuserdata(L: LuaState, p: unknown): void;
    lua_touserdata(L: LuaState, idx: number): unknown;
    lua_typename(L: LuaState, type: number): Uint8Array;
    lua_rawset(L: LuaState, idx: number): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_pop(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushjsfunction(L: LuaState, fn: LuaJsFunction): void;
    lua_pushlstring(L: LuaState, s: Uint8Array, len: number): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushstring(L: LuaState, s: Uint8Array): void;
    lua_pushvalue(L: LuaState, idx: number): void;
    lua_rawget(L: LuaState, idx: number): number;
    lua_rawgeti(L: LuaState, idx: number, n: number): number;
    lua_rawseti(L: LuaState, idx: number, n: number): void;
    lua_setfield(L: LuaState, idx: number, k: Uint8Array): void;
    lua_sethook(L: LuaState, fn: ((L: LuaState) => void) | null, mask: number, count: number): void;
    lua_settop(L: LuaState, idx: number): void;
    lua_toboolean(L: LuaState, idx: number): boolean;
    lua_tointeger(L: LuaState, idx: number): number;
    lua_tojsstring(L: LuaState, idx: number): string | null;
    lua_tolstring(L: LuaState, idx: number): Uint8Array | null;
    lua_tonumber(L: LuaState, idx: number): number;
    lua_type(L: LuaState, idx: number): number;
  }

  export interface FengariLauxlib {
    luaL_argcheck(L: LuaState, cond: boolean, arg: number, extramsg: Uint8Array): void;
    luaL_checknumber(L: LuaState, arg: number): number;
    luaL_checklstring(L: LuaState, arg: number): Uint8Array;
    luaL_error(L: LuaState, fmt: Uint8Array, ...args: unknown[]): never;
    luaL_loadbuffer(L: LuaState, buff: Uint8Array, size: number, name: Uint8Array): number;
    luaL_newstate(): LuaState;
    luaL_ref(L: LuaState, t: number): number;
    luaL_requiref(L: LuaState, modname: Uint8Array, openf: LuaJsFunction, glb: number): void;
    luaL_where(L: LuaState, level: number): void;
  }

  export interface FengariLualib {
    luaopen_base: LuaJsFunction;
    luaopen_coroutine: LuaJsFunction;
    luaopen_debug: LuaJsFunction;
    luaopen_math: LuaJsFunction;
    luaopen_string: LuaJsFunction;
    luaopen_table: LuaJsFunction;
  }

  export interface Fengari {
    lua: FengariLua;
    lauxlib: FengariLauxlib;
    lualib: FengariLualib;
    to_luastring(s: string): Uint8Array;
  }
}
