import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectionInfo } from '../protocol';

/** A kernel process started the way a Jupyter server starts one: a connection file and kernel.json's argv. */
export interface KernelProcess {
  readonly child: ChildProcess;
  readonly connection: ConnectionInfo;
  readonly connectionFile: string;
  /** Everything the kernel wrote to its stderr (its log), so far. */
  log(): string;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>;
  /** Sends SIGKILL if it still runs, and removes the connection file. */
  kill(): Promise<void>;
}

export interface StartKernelProcessOptions {
  /** kernel.json's argv; `{connection_file}` is replaced. Defaults to this package's kernel with this Node. */
  argv?: string[];
  /** Where the kernel runs (the notebook's folder). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Reuse a connection (a restart keeps the ports and key, as jupyter_client does). */
  connection?: ConnectionInfo;
}

/** Ports the OS says are free now (a small race with other programs, as in jupyter_client). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A fresh connection on localhost TCP with a random key. */
export async function newConnection(): Promise<ConnectionInfo> {
  const [shell, control, iopub, stdin, hb] = await freePorts(5);
  return {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: shell!,
    control_port: control!,
    iopub_port: iopub!,
    stdin_port: stdin!,
    hb_port: hb!,
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: 'quicksort',
  };
}

/** Starts a kernel process on a new (or given) connection. */
export async function startKernelProcess(options: StartKernelProcessOptions = {}): Promise<KernelProcess> {
  const connection = options.connection ?? (await newConnection());
  const folder = mkdtempSync(path.join(tmpdir(), 'quicksort-kernel-connection-'));
  const connectionFile = path.join(folder, 'kernel.json');
  writeFileSync(connectionFile, JSON.stringify(connection, null, 2));
  const argv = (options.argv ?? [process.execPath, path.join(__dirname, '..', 'main.js'), '--connection-file', '{connection_file}']).map((arg) =>
    arg === '{connection_file}' ? connectionFile : arg,
  );
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (log += text));
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (log += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    connection,
    connectionFile,
    log: () => log,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
