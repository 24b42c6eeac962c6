import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The production bundle on bare workerd: a generated Cap'n Proto config and the `workerd` binary
 * that wrangler itself depends on, with no wrangler dev proxy in front (docs/decisions/0010).
 */

export interface WorkerdOptions {
  /** The bundle wrangler wrote (`npm run build`: dist/index.js). */
  bundle: string;
  /** Where the config and the log go (a temporary directory). */
  workDir: string;
  port: number;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Text bindings: wrangler.toml [vars] plus secrets and local settings. */
  vars: Record<string, string>;
  /** wrangler.toml [[analytics_engine_datasets]]: binding name -> dataset. */
  analyticsEngineDatasets: Record<string, string>;
  /** Opens workerd's DevTools inspector on this port (for --cpu-profile). */
  inspectorPort?: number;
}

export interface RunningWorkerd {
  url: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or the signal's name) when workerd ends. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

// As miniflare does for `wrangler dev`: the dataset binding is a wrapped binding around a module
// that drops data points, so the Worker pays for the call and nothing leaves the machine.
const ANALYTICS_MODULE = 'edgetask-bench:analytics-engine';
const ANALYTICS_SOURCE = 'export default function () { return { writeDataPoint() {} }; }';

/** Cap'n Proto text literals take C escapes, not JSON's \u: keep to printable ASCII. */
function text(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`workerd config: non-ASCII value ${JSON.stringify(value)}`);
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function workerdConfig(options: WorkerdOptions, configDir: string): string {
  const bindings = [
    ...Object.entries(options.vars).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`),
    ...Object.entries(options.analyticsEngineDatasets).map(
      ([name, dataset]) =>
        `(name = ${text(name)}, wrapped = (moduleName = ${text(ANALYTICS_MODULE)}, innerBindings = [(name = "dataset", text = ${text(dataset)})]))`,
    ),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The default "internet" service refuses private and loopback addresses (SSRF protection);
    # the stand-ins listen on 127.0.0.1, so the Worker's fetch() goes out through this one.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = ${text(`127.0.0.1:${options.port}`)}, http = (), service = "main")],
  extensions = [(modules = [(name = ${text(ANALYTICS_MODULE)}, internal = true, esModule = ${text(ANALYTICS_SOURCE)})])],
);

const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${text(path.relative(configDir, options.bundle))})],
  compatibilityDate = ${text(options.compatibilityDate)},
  compatibilityFlags = [${options.compatibilityFlags.map(text).join(', ')}],
  bindings = [
    ${bindings.join(',\n    ')},
  ],
  globalOutbound = "loopback",
);
`;
}

/**
 * Writes the config (0600: it holds the secrets) and starts workerd; resolves once /health
 * answers. workerd's stdout (the Worker's one JSON log line per request) goes to a file.
 */
export async function startWorkerd(options: WorkerdOptions): Promise<RunningWorkerd> {
  const configFile = path.join(options.workDir, 'workerd.capnp');
  fs.writeFileSync(configFile, workerdConfig(options, options.workDir), { mode: 0o600 });
  const logFile = path.join(options.workDir, 'workerd.log');
  const log = fs.openSync(logFile, 'w');
  const binary = path.resolve(import.meta.dirname, '../../node_modules/workerd/bin/workerd');
  const args = ['serve', configFile];
  if (options.inspectorPort) args.push(`--inspector-addr=127.0.0.1:${options.inspectorPort}`);
  const child: ChildProcess = spawn(binary, args, {
    cwd: options.workDir,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  let dead: number | string | undefined;
  void exited.then((code) => (dead = code));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (dead !== undefined) {
      throw new Error(`workerd exited (${dead}) while starting:\n${tail(logFile, 20)}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      if (res.ok) return { url, pid: child.pid!, process: child, logFile, exited, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`workerd did not answer /health within 20 s:\n${tail(logFile, 20)}`);
}

/** The last lines of a file (its last 64 KiB at most: the log can be large), for error messages. */
export function tail(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    fs.closeSync(fd);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
