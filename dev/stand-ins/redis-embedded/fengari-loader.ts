/**
 * Loads a private, patched copy of fengari (Lua 5.3 in JS, 32-bit integers) that behaves like the
 * Lua 5.1 Redis embeds, where every number is a double:
 * - integer +, -, *, unary - that leave the int32 range become floats instead of wrapping
 *   (100000*100000 is 1e10 in Redis; fengari alone gives 1410065408);
 * - n % 0 is NaN instead of an error, and float % uses 5.1's a - floor(a/b)*b;
 * - numbers print with "%.14g" and no ".0" suffix (tostring(10/2) is "5" in Redis);
 * - type errors read "attempt to index local 't' (a nil value)" and syntax errors
 *   "near '<eof>'" like 5.1;
 * - error(5) gets a position prefix like any string message in 5.1;
 * - tonumber("inf") / "nan" parse as 5.1's strtod does;
 * - string.format("%d", 3.7) and other integer arguments truncate floats instead of refusing them,
 *   and %e/%f/%g print as C's printf does;
 * - the 5.3-only operators (//, &, |, ~, <<, >>) are syntax errors, as in 5.1.
 *
 * The patches are source rewrites applied while loading fengari's modules into a module registry
 * of our own, so the fengari copy other code may require() stays untouched. Each patch must match
 * exactly once: a fengari upgrade that moves the code fails loudly here instead of silently
 * changing behaviour.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compileFunction } from 'node:vm';
import type { Fengari } from 'fengari';
import { formatE, formatF, formatG } from './numbers.ts';

interface Patch {
  file: string;
  find: string;
  replace: string;
}

const PATCHES: Patch[] = [
  {
    file: 'luaconf.js',
    find: 'const lua_number2str = function(n) {\n    return String(Number(n.toPrecision(14))); /* should match behaviour of LUA_NUMBER_FMT */\n};',
    replace: 'const lua_number2str = __hooks.number2str;',
  },
  {
    file: 'luaconf.js',
    find: 'const LUA_COMPAT_FLOATSTRING = conf.LUA_COMPAT_FLOATSTRING || false;',
    replace: 'const LUA_COMPAT_FLOATSTRING = true;',
  },
  {
    file: 'lvm.js',
    find: 'L.stack[ra].setivalue((op1.value + op2.value)|0);',
    replace: '__hooks.setArith(L.stack[ra], op1.value + op2.value);',
  },
  {
    file: 'lvm.js',
    find: 'L.stack[ra].setivalue((op1.value - op2.value)|0);',
    replace: '__hooks.setArith(L.stack[ra], op1.value - op2.value);',
  },
  {
    file: 'lvm.js',
    find: 'L.stack[ra].setivalue(luaV_imul(op1.value, op2.value));',
    replace: '__hooks.setArith(L.stack[ra], op1.value * op2.value);',
  },
  {
    file: 'lvm.js',
    find: 'L.stack[ra].setivalue(luaV_mod(L, op1.value, op2.value));',
    replace:
      'if (op2.value === 0) L.stack[ra].setfltvalue(NaN); else L.stack[ra].setivalue(luaV_mod(L, op1.value, op2.value));',
  },
  {
    file: 'lvm.js',
    find: 'L.stack[ra].setivalue((-op.value)|0);',
    replace: '__hooks.setArith(L.stack[ra], -op.value);',
  },
  {
    file: 'lobject.js',
    find: `        case LUA_OPADD:  return (v1 + v2)|0;
        case LUA_OPSUB:  return (v1 - v2)|0;
        case LUA_OPMUL:  return lvm.luaV_imul(v1, v2);
        case LUA_OPMOD:  return lvm.luaV_mod(L, v1, v2);`,
    replace: `        case LUA_OPADD:  return v1 + v2;
        case LUA_OPSUB:  return v1 - v2;
        case LUA_OPMUL:  return v1 * v2;
        case LUA_OPMOD:  return v2 === 0 ? NaN : lvm.luaV_mod(L, v1, v2);`,
  },
  {
    file: 'lobject.js',
    find: '        case LUA_OPUNM:  return (0 - v1)|0;',
    replace: '        case LUA_OPUNM:  return 0 - v1;',
  },
  {
    file: 'lobject.js',
    find: `            if (p1.ttisinteger() && p2.ttisinteger()) {
                res.setivalue(intarith(L, op, p1.value, p2.value));`,
    replace: `            if (p1.ttisinteger() && p2.ttisinteger()) {
                __hooks.setArith(res, intarith(L, op, p1.value, p2.value));`,
  },
  {
    file: 'lobject.js',
    find: `    if (mode === 'n')  /* reject 'inf' and 'nan' */
        return null;`,
    replace: `    if (mode === 'n')  /* 5.1 used strtod, which reads inf and nan */
        return __hooks.str2dInfNan(s);`,
  },
  {
    file: 'llimits.js',
    find: `    let m = a % b;
    if ((m*b) < 0)
        m += b;
    return m;`,
    replace: '    return a - Math.floor(a / b) * b;',
  },
  {
    file: 'ldebug.js',
    find: `const luaG_typeerror = function(L, o, op) {
    let t = ltm.luaT_objtypename(L, o);
    luaG_runerror(L, to_luastring("attempt to %s a %s value%s", true), op, t, varinfo(L, o));
};`,
    replace: `const luaG_typeerror = function(L, o, op) {
    let t = ltm.luaT_objtypename(L, o);
    let ci = L.ci;
    let kind = null;
    if (ci.callstatus & lstate.CIST_LUA) {
        kind = getupvalname(L, ci, o);
        let stkid = isinstack(L, ci, o);
        if (!kind && stkid)
            kind = getobjname(ci.func.value.p, currentpc(ci), stkid - ci.l_base);
    }
    if (kind)
        luaG_runerror(L, to_luastring("attempt to %s %s '%s' (a %s value)", true), op, kind.funcname, kind.name, t);
    else
        luaG_runerror(L, to_luastring("attempt to %s a %s value", true), op, t);
};`,
  },
  {
    file: 'llex.js',
    find: `        else  /* names, strings, and numerals */
            return s;`,
    replace: `        else  /* 5.1 quotes these too: "near '<eof>'" */
            return lobject.luaO_pushfstring(ls.L, to_luastring("'%s'", true), s);`,
  },
  {
    file: 'llex.js',
    find: `                else if (check_next1(ls, 60 /* ('<').charCodeAt(0) */)) return TK_SHL;\n`,
    replace: '',
  },
  {
    file: 'llex.js',
    find: `                else if (check_next1(ls, 62 /* ('>').charCodeAt(0) */)) return TK_SHR;\n`,
    replace: '',
  },
  {
    file: 'llex.js',
    find: `                if (check_next1(ls, 47 /* ('/').charCodeAt(0) */)) return TK_IDIV;
                else return 47 /* ('/').charCodeAt(0) */;`,
    replace: `                return 47 /* ('/').charCodeAt(0) */;`,
  },
  {
    file: 'lparser.js',
    find: `        case 126 /* ('~').charCodeAt(0) */: return OPR_BNOT;\n`,
    replace: '',
  },
  {
    file: 'lparser.js',
    find: `        case R.TK_IDIV:   return OPR_IDIV;
        case 38 /* ('&').charCodeAt(0) */: return OPR_BAND;
        case 124 /* ('|').charCodeAt(0) */: return OPR_BOR;
        case 126 /* ('~').charCodeAt(0) */: return OPR_BXOR;
        case R.TK_SHL:    return OPR_SHL;
        case R.TK_SHR:    return OPR_SHR;\n`,
    replace: '',
  },
  {
    file: 'lstrlib.js',
    find: "luaL_addstring(b, to_luastring(sprintf(String.fromCharCode(...form), n)));\n                    break;\n                }\n                case 'q'",
    replace:
      "luaL_addstring(b, to_luastring(__hooks.formatFloat(String.fromCharCode(...form), n)));\n                    break;\n                }\n                case 'q'",
  },
  {
    file: 'lbaselib.js',
    find: '    if (lua_type(L, 1) === LUA_TSTRING && level > 0) {',
    replace: '    if (lua_isstring(L, 1) && level > 0) {',
  },
  {
    file: 'lauxlib.js',
    find: `const luaL_checkinteger = function(L, arg) {
    let d = lua_tointegerx(L, arg);
    if (d === false)
        interror(L, arg);
    return d;
};`,
    replace: `const luaL_checkinteger = function(L, arg) {
    let d = lua_tointegerx(L, arg);
    if (d === false) {
        if (!lua_isnumber(L, arg)) interror(L, arg);
        d = __hooks.truncInt32(lua_tonumberx(L, arg));
    }
    return d;
};`,
  },
  {
    file: 'lstrlib.js',
    find: `                case 'o': case 'u': case 'x': case 'X': {
                    let n = luaL_checkinteger(L, arg);`,
    replace: `                case 'o': case 'u': case 'x': case 'X': {
                    let n = __hooks.formatInteger(luaL_checknumber(L, arg));`,
  },
];

/** "%.14g" as Lua 5.1's LUA_NUMBER_FMT, with C's spelling of the special values. */
function number2str(n: number): string {
  // x87 produces the negative default NaN for 0/0 and inf-inf, which glibc prints as "-nan".
  if (Number.isNaN(n)) return '-nan';
  return formatG(n, 14);
}

function setArith(tv: { setivalue(v: number): void; setfltvalue(v: number): void }, r: number): void {
  if (r === (r | 0)) tv.setivalue(r | 0);
  else tv.setfltvalue(r);
}

function str2dInfNan(s: Uint8Array): { n: number; i: number } | null {
  const text = Buffer.from(s).toString('latin1');
  const m = /^[ \t\n\v\f\r]*([+-]?)(inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)[ \t\n\v\f\r]*$/i.exec(text);
  if (!m) return null;
  const inf = m[2]!.toLowerCase().startsWith('inf');
  const n = inf ? (m[1] === '-' ? -Infinity : Infinity) : NaN;
  return { n, i: s.length };
}

function truncInt32(n: number): number {
  if (Number.isNaN(n)) return -2147483648;
  const t = Math.trunc(n);
  return Math.max(-2147483648, Math.min(2147483647, t));
}

/** (long long) cast of a double, as 5.1's string.format does for %d; sprintf-js takes it as is. */
function formatInteger(n: number): number {
  if (Number.isNaN(n) || Math.abs(n) >= 2 ** 63) return -(2 ** 63);
  return Math.trunc(n);
}

/** C printf for one %[flags][width][.precision](e|E|f|F|g|G) conversion of a double. */
function formatFloat(spec: string, n: number): string {
  const m = /^%([-+ #0]*)(\d*)(?:\.(\d*))?[lL]?([eEfFgG])$/.exec(spec);
  if (!m) return String(n);
  const flags = m[1]!;
  const width = m[2] === '' ? 0 : Number(m[2]);
  const conv = m[4]!;
  const prec = m[3] === undefined ? 6 : m[3] === '' ? 0 : Number(m[3]);
  const upper = conv === 'E' || conv === 'G' || conv === 'F';
  const neg = n < 0 || Object.is(n, -0) || Number.isNaN(n);
  const a = Math.abs(n);
  let body: string;
  if (Number.isNaN(n)) body = 'nan';
  else if (!Number.isFinite(a)) body = 'inf';
  else if (conv === 'f' || conv === 'F') body = formatF(a, prec);
  else if (conv === 'e' || conv === 'E') body = formatE(a, prec);
  else body = formatG(a, prec === 0 ? 1 : prec);
  if (flags.includes('#') && prec === 0 && !body.includes('.') && /^\d/.test(body))
    body = body.replace(/^(\d+)/, '$1.');
  if (upper) body = body.toUpperCase();
  const sign = neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  const pad = width - sign.length - body.length;
  if (pad <= 0) return sign + body;
  if (flags.includes('-')) return sign + body + ' '.repeat(pad);
  if (flags.includes('0') && Number.isFinite(n)) return sign + '0'.repeat(pad) + body;
  return ' '.repeat(pad) + sign + body;
}

const hooks = { number2str, setArith, str2dInfNan, truncInt32, formatInteger, formatFloat };

let cached: Fengari | undefined;

export function loadFengari(): Fengari {
  if (cached !== undefined) return cached;
  const hostRequire = createRequire(import.meta.url);
  const srcDir = dirname(hostRequire.resolve('fengari/src/fengari.js'));
  const fengariRequire = createRequire(join(srcDir, 'fengari.js'));
  const registry = new Map<string, { exports: unknown }>();
  const pending = new Map<string, Patch[]>();
  for (const p of PATCHES) pending.set(p.file, [...(pending.get(p.file) ?? []), p]);

  const load = (file: string): unknown => {
    const existing = registry.get(file);
    if (existing) return existing.exports;
    const filename = join(srcDir, file);
    let code = readFileSync(filename, 'utf8');
    for (const p of pending.get(file) ?? []) {
      const parts = code.split(p.find);
      if (parts.length !== 2) {
        throw new Error(`fengari patch for ${file} matched ${parts.length - 1} times: ${p.find.slice(0, 60)}`);
      }
      code = parts.join(p.replace);
    }
    const mod = { exports: {} as unknown };
    registry.set(file, mod);
    const fn = compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname', '__hooks'], {
      filename,
    }) as (...args: unknown[]) => void;
    const req = (spec: string): unknown => (spec.startsWith('./') ? load(spec.slice(2)) : fengariRequire(spec));
    fn(mod.exports, req, mod, filename, srcDir, hooks);
    return mod.exports;
  };

  cached = load('fengari.js') as Fengari;
  return cached;
}
