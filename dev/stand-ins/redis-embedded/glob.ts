/**
 * Port of Redis 7.0's stringmatchlen (util.c) so KEYS and SCAN MATCH select exactly the keys the
 * real server selects, including its quirks: C strings are NUL-terminated (reads past the end see
 * 0), chars are signed in ranges, and an unterminated '[' class still matches.
 */

export function globMatch(pattern: Uint8Array, str: Uint8Array): boolean {
  const skip = { value: false };
  return matchImpl(pattern, 0, pattern.length, str, 0, str.length, skip);
}

function signed(b: number): number {
  return (b << 24) >> 24;
}

function matchImpl(
  pat: Uint8Array,
  p: number,
  patLen: number,
  str: Uint8Array,
  s: number,
  strLen: number,
  skipLonger: { value: boolean },
): boolean {
  const P = (i: number): number => pat[i] ?? 0;
  const S = (i: number): number => str[i] ?? 0;
  while (patLen > 0 && strLen > 0) {
    switch (P(p)) {
      case 0x2a /* '*' */: {
        while (patLen > 0 && P(p + 1) === 0x2a) {
          p++;
          patLen--;
        }
        if (patLen === 1) return true;
        while (strLen > 0) {
          if (matchImpl(pat, p + 1, patLen - 1, str, s, strLen, skipLonger)) return true;
          if (skipLonger.value) return false;
          s++;
          strLen--;
        }
        skipLonger.value = true;
        return false;
      }
      case 0x3f /* '?' */:
        s++;
        strLen--;
        break;
      case 0x5b /* '[' */: {
        p++;
        patLen--;
        const not = P(p) === 0x5e;
        if (not) {
          p++;
          patLen--;
        }
        let match = false;
        for (;;) {
          if (P(p) === 0x5c && patLen >= 2) {
            p++;
            patLen--;
            if (P(p) === S(s)) match = true;
          } else if (P(p) === 0x5d) {
            break;
          } else if (patLen === 0) {
            p--;
            patLen++;
            break;
          } else if (patLen >= 3 && P(p + 1) === 0x2d) {
            let start = signed(P(p));
            let end = signed(P(p + 2));
            const c = signed(S(s));
            if (start > end) [start, end] = [end, start];
            p += 2;
            patLen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (P(p) === S(s)) {
            match = true;
          }
          p++;
          patLen--;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        strLen--;
        break;
      }
      case 0x5c /* '\\' */:
        if (patLen >= 2) {
          p++;
          patLen--;
        }
        if (P(p) !== S(s)) return false;
        s++;
        strLen--;
        break;
      default:
        if (P(p) !== S(s)) return false;
        s++;
        strLen--;
        break;
    }
    p++;
    patLen--;
    if (strLen === 0) {
      while (P(p) === 0x2a) {
        p++;
        patLen--;
      }
      break;
    }
  }
  return patLen === 0 && strLen === 0;
}
