/**
 * What `npm run dev` shows of wrangler's output. The Worker writes one JSON line per request (the
 * production format, for Workers Logs); wrangler prints its own line for the same request. Here the
 * JSON request line becomes one readable line and wrangler's duplicate is dropped; everything else
 * passes through unchanged. wrangler's `--log-level` cannot do this: its request lines are `info`,
 * below the Worker's `console.log` lines, so any level that hides them hides the Worker's too.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** wrangler's own request line: `[wrangler:info] GET /api/v1/tasks 200 OK (12ms)`. */
const WRANGLER_REQUEST = /^\[wrangler:info\] (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ \d{3}\b/;
/** wrangler says this once the local server accepts requests. */
const WRANGLER_READY = /^\[wrangler:info\] Ready on (http\S+)/;

interface RequestLog {
  msg: 'request';
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  request_id?: string;
  user_id?: string;
  neon?: { count: number };
  upstash?: { count: number };
}

function asRequestLog(line: string): RequestLog | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Partial<RequestLog>;
    return value.msg === 'request' && typeof value.method === 'string' && typeof value.status === 'number'
      ? (value as RequestLog)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `GET /api/v1/tasks 200 12ms  neon 1 upstash 2  req 64ded3aa`: the request id's start, to find it in errors. */
export function formatRequest(entry: RequestLog): string {
  const io = `neon ${entry.neon?.count ?? 0} upstash ${entry.upstash?.count ?? 0}`;
  const id = entry.request_id ? `  req ${entry.request_id.slice(0, 8)}` : '';
  return `${entry.method} ${entry.path} ${entry.status} ${entry.duration_ms}ms  ${io}${id}`;
}

/**
 * One line of wrangler's output as the dev console shows it: the readable request line, null to
 * drop it (wrangler's duplicate request line), or the line itself.
 */
export function consoleLine(line: string): string | null {
  const plain = line.replace(ANSI, '');
  if (WRANGLER_REQUEST.test(plain)) return null;
  const entry = asRequestLog(plain);
  return entry ? formatRequest(entry) : line;
}

/** The URL in wrangler's "Ready on" line, when this is that line. */
export function readyUrl(line: string): string | undefined {
  return WRANGLER_READY.exec(line.replace(ANSI, ''))?.[1];
}
