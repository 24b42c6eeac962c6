import fs from 'node:fs';

/**
 * `--profile`: a V8 CPU profile of the Worker inside workerd for each measured rate, taken over
 * workerd's inspector (the DevTools protocol on a WebSocket, as Chrome DevTools would), summed up
 * by source module of the bundle. Diagnostics only: sampling costs the Worker a little CPU.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export class Inspector {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (value: unknown) => void>();
  #id = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.#pending.get(message.id)?.(message.result);
    });
  }

  /** Connects to the first target workerd's inspector lists (the one Worker). */
  static async connect(inspectorUrl: string): Promise<Inspector> {
    const targets = (await (await fetch(`${inspectorUrl}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    const inspector = new Inspector(socket);
    await inspector.#call('Profiler.enable');
    await inspector.#call('Profiler.setSamplingInterval', { interval: 500 });
    return inspector;
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(): Promise<void> {
    await this.#call('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const result = (await this.#call('Profiler.stop')) as { profile: CpuProfile };
    return result.profile;
  }

  close(): void {
    this.#socket.close();
  }
}

/** esbuild marks where each module starts in the bundle with a `// path` line. */
function moduleStarts(bundle: string): { line: number; module: string }[] {
  const starts: { line: number; module: string }[] = [];
  bundle.split('\n').forEach((text, line) => {
    const match = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
    if (match) starts.push({ line, module: match[1]! });
  });
  return starts;
}

/** Our code by src/ folder (src/lib/, src/gate/); packages by package name (their files together). */
function groupOf(module: string): string {
  if (module.startsWith('src/')) return `${module.slice(0, module.lastIndexOf('/'))}/`;
  const parts = module.replace(/^node_modules\//, '').split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

export interface ProfileSummary {
  /** Milliseconds of samples, idle excluded. */
  busyMs: number;
  wallMs: number;
  byModule: { module: string; ms: number; share: number }[];
  byFunction: { name: string; ms: number; share: number }[];
}

/** Self time by bundle module and by function; runtime frames ((garbage collector), native) by name. */
export function summarizeProfile(profile: CpuProfile, bundleFile: string): ProfileSummary {
  const starts = moduleStarts(fs.readFileSync(bundleFile, 'utf8'));
  const moduleAt = (line: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = '(bundle prelude)';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) {
        found = starts[mid]!.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return groupOf(found);
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (!node || node.callFrame.functionName === '(idle)') return;
    busy += ms;
    const { url, functionName, lineNumber } = node.callFrame;
    const module = url.endsWith('index.js') ? moduleAt(lineNumber) : url ? `runtime ${url}` : 'runtime (native, GC)';
    byModule.set(module, (byModule.get(module) ?? 0) + ms);
    const name = `${functionName || '(anonymous)'} ${url.endsWith('index.js') ? module : url || ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, ms]) => ({ key, ms: Math.round(ms), share: busy ? Math.round((ms / busy) * 1000) / 10 : 0 }));
  return {
    busyMs: Math.round(busy),
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    byModule: top(byModule, 15).map(({ key, ...rest }) => ({ module: key, ...rest })),
    byFunction: top(byFunction, 15).map(({ key, ...rest }) => ({ name: key, ...rest })),
  };
}
