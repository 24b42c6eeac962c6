/**
 * The in-memory database: string values under binary keys, millisecond expiry applied lazily on
 * every access (and while SCAN walks the keyspace), and a per-key insertion sequence
 * that gives SCAN a cursor which survives deletions during iteration.
 */

import { Buffer } from 'node:buffer';

/** Keys are byte strings held as latin1 JS strings. */
export type Bin = string;

export function bin(bytes: Uint8Array): Bin {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function unbin(s: Bin): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Only strings: no command the embedded engine implements creates another type. */
export interface RedisValue {
  type: 'string';
  data: Buffer;
}

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
