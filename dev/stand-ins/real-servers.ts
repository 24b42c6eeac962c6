import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * Starts throwaway PostgreSQL and Redis servers from the binaries installed on this machine,
 * in a temporary directory, on free loopback ports; stop() ends them and removes the directory.
 */

export interface StartedServer {
  url: string;
  description: string;
  stop(): Promise<void>;
}

export class StandInError extends Error {
  override name = 'StandInError';
}

/** A free TCP port on loopback (the OS picks it; the tiny race with other programs is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Looks on PATH, then in Debian's versioned Postgres directories (newest first). */
export function findBinary(name: string): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function postgresUser(): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPostgres(): Promise<StartedServer> {
  const initdb = findBinary('initdb');
  const postgres = findBinary('postgres');
  if (!initdb || !postgres) {
    throw new StandInError(
      'PostgreSQL binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: install postgresql, or use --backend embedded',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetask-pg-'));
  const dataDir = path.join(dir, 'data');
  // Postgres refuses to run as root: run it as the postgres user, on a directory it owns.
  let asUser: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const user = postgresUser();
    if (!user)
      throw new StandInError(
        'running as root and there is no postgres user to run PostgreSQL as: install postgresql (it creates the user), or run as a normal user',
      );
    fs.chownSync(dir, user.uid, user.gid);
    asUser = user;
  }

  const init = spawnSync(
    initdb,
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    {
      encoding: 'utf8',
      cwd: dir,
      ...asUser,
    },
  );
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new StandInError(`initdb failed: ${(init.stderr || init.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }

  const port = await freePort();
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'TimeZone=UTC',
    '-c',
    'max_connections=300',
    '-c',
    'shared_buffers=128MB',
  ];
  const child = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...asUser });
  const log = collect(child);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor(child, log, 'postgres', async () => {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
    } finally {
      await client.end().catch(() => {});
    }
  });
  return {
    url,
    description: `postgres started from ${path.dirname(postgres)} on 127.0.0.1:${port}`,
    async stop() {
      await stopChild(child, 'SIGINT'); // fast shutdown
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedis(): Promise<StartedServer> {
  const binary = findBinary('redis-server');
  if (!binary)
    throw new StandInError('redis-server not found on PATH: install redis-server, or use --backend embedded');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetask-redis-'));
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = collect(child);
  await waitFor(child, log, 'redis-server', () => ping(port));
  return {
    url: `redis://127.0.0.1:${port}`,
    description: `redis-server started from ${binary} on 127.0.0.1:${port}`,
    async stop() {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      if (data.toString().startsWith('+PONG')) resolve();
      else reject(new Error(data.toString()));
    });
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
  });
}

function collect(child: ChildProcess): string[] {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return lines;
}

async function waitFor(child: ChildProcess, log: string[], name: string, probe: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new StandInError(`${name} exited at start: ${log.slice(-3).join(' | ')}`);
    try {
      await probe();
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new StandInError(`${name} did not answer within 20 s: ${log.slice(-3).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
