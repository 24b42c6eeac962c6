/**
 * cjson.encode / cjson.decode / cjson.null as the lua-cjson 2.1.0 bundled with Redis 7.0 behaves
 * with Redis' defaults: numbers as "%.14g", '/' escaped, sparse arrays refused, strtod numbers
 * (inf, hex accepted on decode), and its exact error texts. Object key order follows the Lua
 * table's traversal order, which is not the same as Lua 5.1's (see the README's gaps).
 */

import { Buffer } from 'node:buffer';
import type { Fengari, LuaJsFunction, LuaState } from 'fengari';
import { formatG, strtodParse } from './numbers.ts';

const MAX_DEPTH = 1000;
type TokenType =
  | 'T_OBJ_BEGIN'
  | 'T_OBJ_END'
  | 'T_ARR_BEGIN'
  | 'T_ARR_END'
  | 'T_STRING'
  | 'T_NUMBER'
  | 'T_BOOLEAN'
  | 'T_NULL'
  | 'T_COLON'
  | 'T_COMMA'
  | 'T_END'
  | 'T_ERROR';

interface Token {
  type: TokenType;
  index: number;
  text?: Buffer;
  number?: number;
  bool?: boolean;
  error?: string;
}

function escapeByte(c: number): string | undefined {
  switch (c) {
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x2f:
      return '\\/';
    default:
      return c < 0x20 || c === 0x7f ? `\\u${c.toString(16).padStart(4, '0')}` : undefined;
  }
}

export function makeCjson(f: Fengari, pushNumber: (L: LuaState, n: number) => void): Record<string, LuaJsFunction> {
  const { lua, lauxlib } = f;
  const s = (t: string): Uint8Array => f.to_luastring(t);
  const raise = (L: LuaState, message: string): never => lauxlib.luaL_error(L, s('%s'), s(message));

  const encodeNumber = (L: LuaState, idx: number, out: string[]): void => {
    const n = lua.lua_tonumber(L, idx);
    if (!Number.isFinite(n)) raise(L, `Cannot serialise ${typeName(L, idx)}: must not be NaN or Inf`);
    out.push(formatG(n, 14));
  };
  const typeName = (L: LuaState, idx: number): string => {
    const t = lua.lua_type(L, idx);
    return Buffer.from(lua.lua_typename(L, t)).toString('latin1');
  };
  const encodeString = (L: LuaState, idx: number, out: string[]): void => {
    const bytes = lua.lua_tolstring(L, idx)!;
    let text = '"';
    for (const c of bytes) text += escapeByte(c) ?? String.fromCharCode(c);
    out.push(`${text}"`);
  };
  const arrayLength = (L: LuaState): number => {
    let max = 0;
    let items = 0;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
        const k = lua.lua_tonumber(L, -2);
        if (k !== 0 && Math.floor(k) === k && k >= 1) {
          if (k > max) max = k;
          items++;
          lua.lua_pop(L, 1);
          continue;
        }
      }
      lua.lua_pop(L, 2);
      return -1;
    }
    if (max > items * 2 && max > 10) raise(L, 'Cannot serialise table: excessively sparse array');
    return max;
  };
  const encodeValue = (L: LuaState, depth: number, out: string[]): void => {
    switch (lua.lua_type(L, -1)) {
      case lua.LUA_TSTRING:
        return encodeString(L, -1, out);
      case lua.LUA_TNUMBER:
        return encodeNumber(L, -1, out);
      case lua.LUA_TBOOLEAN:
        out.push(lua.lua_toboolean(L, -1) ? 'true' : 'false');
        return;
      case lua.LUA_TNIL:
        out.push('null');
        return;
      case lua.LUA_TLIGHTUSERDATA:
        if (lua.lua_touserdata(L, -1) === null) {
          out.push('null');
          return;
        }
        break;
      case lua.LUA_TTABLE: {
        depth++;
        if (depth > MAX_DEPTH || !lua.lua_checkstack(L, 3)) raise(L, `Cannot serialise, excessive nesting (${depth})`);
        const len = arrayLength(L);
        if (len > 0) {
          out.push('[');
          for (let i = 1; i <= len; i++) {
            if (i > 1) out.push(',');
            lua.lua_rawgeti(L, -1, i);
            encodeValue(L, depth, out);
            lua.lua_pop(L, 1);
          }
          out.push(']');
          return;
        }
        out.push('{');
        let first = true;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) {
          if (!first) out.push(',');
          first = false;
          const kt = lua.lua_type(L, -2);
          if (kt === lua.LUA_TNUMBER) {
            out.push('"');
            encodeNumber(L, -2, out);
            out.push('":');
          } else if (kt === lua.LUA_TSTRING) {
            encodeString(L, -2, out);
            out.push(':');
          } else raise(L, `Cannot serialise ${typeName(L, -2)}: table key must be a number or string`);
          encodeValue(L, depth, out);
          lua.lua_pop(L, 1);
        }
        out.push('}');
        return;
      }
    }
    raise(L, `Cannot serialise ${typeName(L, -1)}: type not supported`);
  };

  const encode: LuaJsFunction = (L) => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, s('expected 1 argument'));
    const out: string[] = [];
    encodeValue(L, 0, out);
    const text = Buffer.from(out.join(''), 'latin1');
    lua.lua_pushlstring(L, text, text.length);
    return 1;
  };

  const decode: LuaJsFunction = (L) => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, s('expected 1 argument'));
    const data = Buffer.from(lauxlib.luaL_checklstring(L, 1));
    if (data.length >= 2 && (data[0] === 0 || data[1] === 0)) raise(L, 'JSON parser does not support UTF-16 or UTF-32');
    const at = (i: number): number => data[i] ?? 0;
    let ptr = 0;
    let depth = 0;

    const tokenError = (error: string): Token => ({ type: 'T_ERROR', index: ptr, error });
    const nextToken = (): Token => {
      while ([0x20, 0x09, 0x0a, 0x0d].includes(at(ptr))) ptr++;
      const index = ptr;
      const ch = at(ptr);
      const single: Record<number, TokenType> = {
        0x7b: 'T_OBJ_BEGIN',
        0x7d: 'T_OBJ_END',
        0x5b: 'T_ARR_BEGIN',
        0x5d: 'T_ARR_END',
        0x2c: 'T_COMMA',
        0x3a: 'T_COLON',
      };
      if (ch === 0) return { type: 'T_END', index };
      const one = single[ch];
      if (one !== undefined) {
        ptr++;
        return { type: one, index };
      }
      const startsWith = (word: string): boolean => data.subarray(ptr, ptr + word.length).toString('latin1') === word;
      if (ch === 0x22) return stringToken(index);
      if (ch === 0x2d || (ch >= 0x30 && ch <= 0x39)) return numberToken(index);
      if (startsWith('true')) {
        ptr += 4;
        return { type: 'T_BOOLEAN', index, bool: true };
      }
      if (startsWith('false')) {
        ptr += 5;
        return { type: 'T_BOOLEAN', index, bool: false };
      }
      if (startsWith('null')) {
        ptr += 4;
        return { type: 'T_NULL', index };
      }
      const rest = data
        .subarray(ptr, ptr + 3)
        .toString('latin1')
        .toLowerCase();
      if ((ch === 0x69 || ch === 0x49 || ch === 0x6e || ch === 0x4e) && (rest === 'inf' || rest === 'nan')) {
        return numberToken(index);
      }
      return tokenError('invalid token');
    };
    const numberToken = (index: number): Token => {
      const text = data.subarray(ptr, Math.min(data.length, ptr + 400)).toString('latin1');
      const p = strtodParse(text);
      if (p.end === 0 || /^[ \t\n\v\f\r]/.test(text)) return tokenError('invalid number');
      ptr += p.end;
      let n: number;
      if (p.kind === 'nan') n = NaN;
      else if (p.kind === 'inf') n = p.negative ? -Infinity : Infinity;
      else
        n = Number.parseFloat(
          p.exp2 !== 0 || /^[+-]?0[xX]/.test(text) ? String(Number(p.digits) * 2 ** p.exp2) : text.slice(0, p.end),
        );
      if (p.negative && p.kind === 'finite' && n > 0) n = -n;
      return { type: 'T_NUMBER', index, number: n };
    };
    const hex4 = (i: number): number => {
      const t = data.subarray(i, i + 4).toString('latin1');
      return /^[0-9a-fA-F]{4}$/.test(t) ? parseInt(t, 16) : -1;
    };
    const stringToken = (index: number): Token => {
      ptr++;
      const out: number[] = [];
      for (;;) {
        const ch = at(ptr);
        if (ch === 0x22) break;
        if (ch === 0) return tokenError('unexpected end of string');
        if (ch === 0x5c) {
          const esc = at(ptr + 1);
          const map: Record<number, number> = {
            0x22: 0x22,
            0x5c: 0x5c,
            0x2f: 0x2f,
            0x62: 8,
            0x74: 9,
            0x6e: 10,
            0x66: 12,
            0x72: 13,
          };
          if (esc === 0x75) {
            let cp = hex4(ptr + 2);
            let len = 6;
            if (cp >= 0 && (cp & 0xf800) === 0xd800) {
              const low = at(ptr + 6) === 0x5c && at(ptr + 7) === 0x75 ? hex4(ptr + 8) : -1;
              cp =
                cp & 0x400 || low < 0 || (low & 0xfc00) !== 0xdc00
                  ? -1
                  : (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
              len = 12;
            }
            if (cp < 0) return tokenError('invalid unicode escape code');
            out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
            ptr += len;
            continue;
          }
          const mapped = map[esc];
          if (mapped === undefined) return tokenError('invalid escape code');
          out.push(mapped);
          ptr += 2;
          continue;
        }
        out.push(ch);
        ptr++;
      }
      ptr++;
      return { type: 'T_STRING', index, text: Buffer.from(out) };
    };
    const parseError = (expected: string, t: Token): never =>
      raise(
        L,
        `Expected ${expected} but found ${t.type === 'T_ERROR' ? t.error! : t.type} at character ${t.index + 1}`,
      );
    const descend = (): void => {
      depth++;
      if (depth > MAX_DEPTH || !lua.lua_checkstack(L, 3)) {
        raise(L, `Found too many nested data structures (${depth}) at character ${ptr}`);
      }
    };
    const value = (t: Token): void => {
      switch (t.type) {
        case 'T_STRING':
          lua.lua_pushlstring(L, t.text!, t.text!.length);
          return;
        case 'T_NUMBER':
          pushNumber(L, t.number!);
          return;
        case 'T_BOOLEAN':
          lua.lua_pushboolean(L, t.bool!);
          return;
        case 'T_NULL':
          lua.lua_pushlightuserdata(L, null);
          return;
        case 'T_OBJ_BEGIN': {
          descend();
          lua.lua_createtable(L, 0, 0);
          let tok = nextToken();
          if (tok.type === 'T_OBJ_END') {
            depth--;
            return;
          }
          for (;;) {
            if (tok.type !== 'T_STRING') parseError('object key string', tok);
            lua.lua_pushlstring(L, tok.text!, tok.text!.length);
            tok = nextToken();
            if (tok.type !== 'T_COLON') parseError('colon', tok);
            value(nextToken());
            lua.lua_rawset(L, -3);
            tok = nextToken();
            if (tok.type === 'T_OBJ_END') {
              depth--;
              return;
            }
            if (tok.type !== 'T_COMMA') parseError('comma or object end', tok);
            tok = nextToken();
          }
        }
        case 'T_ARR_BEGIN': {
          descend();
          lua.lua_createtable(L, 0, 0);
          let tok = nextToken();
          if (tok.type === 'T_ARR_END') {
            depth--;
            return;
          }
          for (let i = 1; ; i++) {
            value(tok);
            lua.lua_rawseti(L, -2, i);
            tok = nextToken();
            if (tok.type === 'T_ARR_END') {
              depth--;
              return;
            }
            if (tok.type !== 'T_COMMA') parseError('comma or array end', tok);
            tok = nextToken();
          }
        }
        default:
          parseError('value', t);
      }
    };
    value(nextToken());
    const end = nextToken();
    if (end.type !== 'T_END') parseError('the end', end);
    return 1;
  };

  return { encode, decode };
}
