/**
 * The kernel process: {@link startKernel} serves one connection file until a shutdown_request or SIGTERM.
 *
 * @example
 * // what `node dist/kernel/main.js --connection-file kernel-1.json` does
 * const kernel = await startKernel({ connectionFile: 'kernel-1.json' });
 * await kernel.stopped;
 */
import { readConnectionFile } from '../protocol';
import { tslabTypeScriptSystem } from './cell-executor';
import { KernelHost } from './kernel-host';
import { installPackageResolution } from './module-resolution';
import { packageInfo } from './package-root';

export { KernelHost, codePointsToUtf16, utf16ToCodePoints, type KernelHostOptions } from './kernel-host';
export { packageInfo, PACKAGE_NAME } from './package-root';
export { installPackageResolution, type TypeScriptSystem } from './module-resolution';

export interface StartKernelOptions {
  connectionFile: string;
  /** The notebook's folder; the current folder by default (Jupyter starts kernels in the notebook's folder). */
  folder?: string;
}

/**
 * Starts the kernel in this process: binds the sockets of the connection file, makes `quicksort` importable
 * from cells, sends cell output to the front end, and routes SIGINT to interrupts.
 */
export async function startKernel(options: StartKernelOptions): Promise<KernelHost> {
  const connection = readConnectionFile(options.connectionFile);
  const folder = options.folder ?? process.cwd();
  installPackageResolution(packageInfo().root, folder, tslabTypeScriptSystem());
  // ZeroMQ's pending binds and receives do not keep Node's event loop alive: hold it open until shutdown.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let host: KernelHost;
  try {
    host = await KernelHost.start({ connection, folder });
  } catch (error) {
    clearInterval(keepAlive);
    throw error;
  }
  host.captureOutput();

  // SIGINT is how Jupyter interrupts (interrupt_mode "signal"): tslab runs cells with breakOnSigint, which
  // stops synchronous code; this handler stops awaiting code, and keeps Node from exiting.
  const onInterrupt = () => host.interrupt();
  const onTerminate = () => void host.shutdown(false);
  const onRejection = (reason: unknown) => host.reportUncaught('Unhandled promise rejection', reason);
  const onException = (error: unknown) => host.reportUncaught('Uncaught exception', error);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  void host.stopped.then(() => {
    clearInterval(keepAlive);
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  // Compile nothing yet, but build the TypeScript program now, so the first cell is not the slow one.
  setImmediate(() => host.warm());
  return host;
}
