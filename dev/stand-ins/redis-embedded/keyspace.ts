/**
 * The in-memory database: typed values under binary keys, millisecond expiry applied lazily on
 * every access (and before KEYS/SCAN/DBSIZE walk the keyspace), and a per-key insertion sequence
 * that gives SCAN a cursor which survives deletions during iteration.
 */

import { Buffer } from 'node:buffer';
import { string2ll } from './numbers.ts';

/** Keys, hash fields and set/zset members are byte strings held as latin1 JS strings. */
export type Bin = string;

export function bin(bytes: Uint8Array): Bin {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function unbin(s: Bin): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Redis keeps small all-integer sets as a sorted intset (SMEMBERS order follows from that). */
const SET_MAX_INTSET_ENTRIES = 512;

export class SetValue {
  readonly members = new Set<Bin>();
  /** Once a set leaves the intset encoding it never goes back, as in Redis. */
  intset = true;

  add(member: Bin): boolean {
    if (this.members.has(member)) return false;
    if (this.intset && (string2ll(unbin(member)) === null || this.members.size + 1 > SET_MAX_INTSET_ENTRIES)) {
      this.intset = false;
    }
    this.members.add(member);
    return true;
  }

  ordered(): Bin[] {
    const all = [...this.members];
    if (!this.intset) return all;
    return all
      .map((m) => ({ m, v: string2ll(unbin(m))! }))
      .sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0))
      .map((x) => x.m);
  }
}

/** Sorted by (score, member bytes), the order Redis' skiplist and listpack both use. */
export class SortedSet {
  readonly scores = new Map<Bin, number>();
  readonly order: Bin[] = [];

  get size(): number {
    return this.order.length;
  }

  private static cmp(s1: number, m1: Bin, s2: number, m2: Bin): number {
    if (s1 !== s2) return s1 < s2 ? -1 : 1;
    return m1 < m2 ? -1 : m1 > m2 ? 1 : 0;
  }

  /** Index of the first element not less than (score, member). */
  private lowerBound(score: number, member: Bin): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.order[mid]!;
      if (SortedSet.cmp(this.scores.get(m)!, m, score, member) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(member: Bin, score: number): void {
    const old = this.scores.get(member);
    if (old !== undefined) {
      if (old === score) return;
      this.order.splice(this.lowerBound(old, member), 1);
    }
    this.scores.set(member, score);
    this.order.splice(this.lowerBound(score, member), 0, member);
  }

  delete(member: Bin): boolean {
    const old = this.scores.get(member);
    if (old === undefined) return false;
    this.order.splice(this.lowerBound(old, member), 1);
    this.scores.delete(member);
    return true;
  }

  rank(member: Bin): number | undefined {
    const score = this.scores.get(member);
    return score === undefined ? undefined : this.lowerBound(score, member);
  }

  /** First index whose score is >= min (or > min when exclusive). */
  firstInScore(min: number, exclusive: boolean): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = this.scores.get(this.order[mid]!)!;
      if (exclusive ? s <= min : s < min) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export type RedisValue =
  | { type: 'string'; data: Buffer }
  | { type: 'hash'; data: Map<Bin, Buffer> }
  | { type: 'set'; data: SetValue }
  | { type: 'zset'; data: SortedSet }
  | { type: 'list'; data: Buffer[] };

export type RedisType = RedisValue['type'];

export interface Entry {
  value: RedisValue;
  /** Absolute unix time in ms; undefined = no TTL. */
  expireAt: number | undefined;
  /** Creation order, the SCAN cursor space. */
  seq: number;
}

export class Keyspace {
  private readonly entries = new Map<Bin, Entry>();
  private nextSeq = 1;
  private readonly realClock: () => number;
  private frozen: number | undefined;

  constructor(clock: () => number) {
    this.realClock = clock;
  }

  clock(): number {
    return this.frozen ?? this.realClock();
  }

  /** Redis pretends time stands still while a script runs; returns the previous freeze. */
  freeze(at: number | undefined): number | undefined {
    const prev = this.frozen;
    this.frozen = at;
    return prev;
  }

  /** Redis' keyIsExpired: a key is still alive at exactly its expire time. */
  private expired(e: Entry): boolean {
    return e.expireAt !== undefined && this.clock() > e.expireAt;
  }

  get(key: Bin): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.expired(e)) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  has(key: Bin): boolean {
    return this.get(key) !== undefined;
  }

  /** Replaces or creates the value; an overwrite drops the TTL unless keepTtl (setKey). */
  set(key: Bin, value: RedisValue, keepTtl = false): Entry {
    const e = this.get(key);
    if (e !== undefined) {
      e.value = value;
      if (!keepTtl) e.expireAt = undefined;
      return e;
    }
    const created: Entry = { value, expireAt: undefined, seq: this.nextSeq++ };
    this.entries.set(key, created);
    return created;
  }

  delete(key: Bin): boolean {
    const e = this.get(key);
    if (e === undefined) return false;
    this.entries.delete(key);
    return true;
  }

  /** Drops the key if it is an empty collection (Redis never keeps empty aggregates). */
  deleteIfEmpty(key: Bin): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    const v = e.value;
    const size =
      v.type === 'string'
        ? 1
        : v.type === 'hash'
          ? v.data.size
          : v.type === 'set'
            ? v.data.members.size
            : v.type === 'zset'
              ? v.data.size
              : v.data.length;
    if (size === 0) this.entries.delete(key);
  }

  purgeExpired(): void {
    for (const [k, e] of this.entries) if (this.expired(e)) this.entries.delete(k);
  }

  size(): number {
    this.purgeExpired();
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Live keys in creation order. */
  *keys(): IterableIterator<[Bin, Entry]> {
    for (const [k, e] of this.entries) {
      if (this.expired(e)) {
        this.entries.delete(k);
        continue;
      }
      yield [k, e];
    }
  }

  /**
   * One SCAN step: examines up to `count` live keys with seq >= cursor; returns the next cursor
   * (0 when done). Keys are appended to the Map in seq order, so the walk is monotonic.
   */
  scanStep(cursor: number, count: number): { next: number; keys: [Bin, Entry][] } {
    const out: [Bin, Entry][] = [];
    for (const [k, e] of this.keys()) {
      if (e.seq < cursor) continue;
      if (out.length >= count) return { next: e.seq, keys: out };
      out.push([k, e]);
    }
    return { next: 0, keys: out };
  }
}
