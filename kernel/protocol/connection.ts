import { readFileSync } from 'node:fs';
import { ProtocolError } from '../engine';

/**
 * The connection file a Jupyter server writes and passes to the kernel (`{connection_file}` in kernel.json).
 * Spec: messaging docs, "Connection files" (jupyter_client.connect.write_connection_file).
 */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

const PORTS = ['shell_port', 'control_port', 'iopub_port', 'stdin_port', 'hb_port'] as const;

/** Reads and checks a connection file. @throws ProtocolError naming the missing or bad field. */
export function readConnectionFile(file: string): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ProtocolError(`quicksort kernel: cannot read the connection file ${file}; Jupyter passes it as --connection-file`, { cause });
  }
  const info = raw as Partial<ConnectionInfo>;
  const transport = info.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc') throw new ProtocolError(`quicksort kernel: transport ${JSON.stringify(transport)} in ${file} is not supported; expected "tcp" or "ipc"`);
  for (const port of PORTS) {
    const value = info[port];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ProtocolError(`quicksort kernel: ${port} in ${file} is ${JSON.stringify(value)}; expected a positive port number`);
    }
  }
  if (typeof info.ip !== 'string' || info.ip === '') throw new ProtocolError(`quicksort kernel: ip in ${file} is missing`);
  return {
    ...(info as ConnectionInfo),
    transport,
    key: typeof info.key === 'string' ? info.key : '',
    signature_scheme: info.signature_scheme ?? 'hmac-sha256',
  };
}

/** The ZeroMQ endpoint of one port: `tcp://ip:port`, or `ipc://ip-port` (jupyter_client's ipc convention). */
export function endpoint(info: Pick<ConnectionInfo, 'transport' | 'ip'>, port: number): string {
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
