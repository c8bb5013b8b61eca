#!/usr/bin/env node
/**
 * The kernel's process entry, as kernel.json runs it:
 *
 *   node dist/kernel/main.js --connection-file {connection_file}
 */
import { startKernel } from './host';

function connectionFileFrom(argv: string[]): string | undefined {
  const index = argv.findIndex((arg) => arg === '--connection-file' || arg === '-f');
  if (index >= 0) return argv[index + 1];
  return argv.find((arg) => arg.startsWith('--connection-file='))?.slice('--connection-file='.length);
}

async function main(): Promise<void> {
  const connectionFile = connectionFileFrom(process.argv.slice(2));
  if (!connectionFile) {
    process.stderr.write('quicksort kernel: missing --connection-file FILE; Jupyter starts this kernel from its kernel.json (install it with `npx quicksort jupyter install`)\n');
    process.exit(2);
  }
  const log = process.stderr.write.bind(process.stderr);
  try {
    const kernel = await startKernel({ connectionFile });
    const restart = await kernel.stopped;
    log(`quicksort kernel: shut down${restart ? ' for a restart' : ''}\n`);
    process.exit(0);
  } catch (error) {
    log(`quicksort kernel: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

void main();
