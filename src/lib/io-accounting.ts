import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Round trips to Neon and Upstash are the edge's real cost, so every request counts its own: how
 * many, and how long they took (wall time while at least one was in flight, so parallel calls are
 * not double-counted). Both client libraries call the global fetch; a wrapper installed once per
 * isolate attributes each call to the request in whose async context it was made
 * (AsyncLocalStorage, from the `nodejs_als` compatibility flag, not the whole `nodejs_compat`).
 */

export interface ServiceIo {
  count: number;
  /** Wall-clock milliseconds during which at least one call was in flight. */
  ms: number;
  inFlight: number;
  /** The highest number of calls in flight at once: above 1 means calls ran in parallel. */
  maxParallel: number;
  busySince: number;
}

export interface RequestIo {
  neon: ServiceIo;
  upstash: ServiceIo;
  /** Calls to either service in flight now, and at most: 2 means Neon and Upstash overlapped. */
  inFlight: number;
  maxParallel: number;
  /** Origin of the Upstash REST URL, to tell its calls from others. */
  upstashOrigin: string;
}

const storage = new AsyncLocalStorage<RequestIo>();
let installed = false;

const service = (): ServiceIo => ({ count: 0, ms: 0, inFlight: 0, maxParallel: 0, busySince: 0 });

export function newRequestIo(upstashUrl: string | undefined): RequestIo {
  const upstashOrigin = upstashUrl && URL.canParse(upstashUrl) ? new URL(upstashUrl).origin : '';
  return { neon: service(), upstash: service(), inFlight: 0, maxParallel: 0, upstashOrigin };
}

export function runWithIo<T>(io: RequestIo, work: () => T): T {
  installFetchProbe();
  return storage.run(io, work);
}

function installFetchProbe(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch.bind(globalThis);
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit<RequestInitCfProperties>) => {
    const io = storage.getStore();
    const target = io ? classify(io, input, init) : undefined;
    if (!io || !target) return original(input, init);
    const stats = io[target];
    stats.count++;
    if (stats.inFlight++ === 0) stats.busySince = performance.now();
    stats.maxParallel = Math.max(stats.maxParallel, stats.inFlight);
    io.maxParallel = Math.max(io.maxParallel, ++io.inFlight);
    try {
      return await original(input, init);
    } finally {
      io.inFlight--;
      if (--stats.inFlight === 0) stats.ms += performance.now() - stats.busySince;
    }
  };
}

function classify(io: RequestIo, input: RequestInfo | URL, init?: RequestInit): 'neon' | 'upstash' | undefined {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  // The Neon driver names the database in this header on every call, whatever the endpoint.
  if (headers.has('Neon-Connection-String')) return 'neon';
  const url = input instanceof Request ? input.url : input.toString();
  if (io.upstashOrigin && url.startsWith(io.upstashOrigin)) return 'upstash';
  return undefined;
}
