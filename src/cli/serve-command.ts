import { Command, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { InvalidArgumentError } from '../errors';
import { RANKER_NAMES, type RankerName } from '../learn';
import { readOrCreateToken, startServer, type RunningServer } from '../server';
import { requireStore } from './open-dataset';
import { printable } from './output';

interface ServeFlags {
  dataset: string;
  store?: string;
  user?: string;
  port: number;
  host: string;
  embeddings: boolean;
  ranker?: string;
  prefetch?: number;
  json?: boolean;
  allowOrigin?: string[];
  allowHost?: string[];
  tokenFile?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * `quicksort serve --dataset DIR [--port P] [--host H]`: the labeling app in a browser, for one person or a
 * team. Prints a URL with a fresh token (or the one kept in --token-file); Ctrl-C (or SIGTERM) closes every client and the store cleanly.
 *
 * @example
 * registerServeCommand(program);
 */
export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description('serve the labeling app in a browser (one WebSocket session per person; a fresh token each start)')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--user <name>', 'who labels when a page does not say ?user=… (default $QUICKSORT_USER or "local")')
    .option('-p, --port <n>', 'the port (0: any free one)', parsePort, 8765)
    .option('--host <address>', 'the address to listen on; 0.0.0.0 serves the network', '127.0.0.1')
    .option('--no-embeddings', 'ignore cached embeddings (items come in order, no suggestions)')
    .option('--ranker <name>', `which item comes next: ${RANKER_NAMES.join(', ')}`)
    .option('--prefetch <n>', 'items each client keeps ready ahead (default 8)', parsePositive)
    .option('--allow-origin <origins>', 'also let pages served from these origins use the server, e.g. http://localhost:8888 (repeatable, or a comma list)', collect)
    .option('--allow-host <names>', 'also answer to these host names, e.g. a DNS name of this machine (repeatable, or a comma list; name[:port])', collect)
    .option('--token-file <file>', 'keep the token in this file (written 0600 on first use), so a restarted server has the same URL and open pages reconnect and resend; default a fresh token each start')
    .option('--json', 'print {url, port, token} as JSON on stdout')
    .action(async (flags: ServeFlags) => {
      await serveCommand(flags);
    });
}

export async function serveCommand(flags: ServeFlags): Promise<RunningServer> {
  requireStore(flags);
  if (flags.ranker !== undefined && !(RANKER_NAMES as readonly string[]).includes(flags.ranker)) {
    throw new InvalidArgumentError(`--ranker must be one of ${RANKER_NAMES.join(', ')}; got ${JSON.stringify(flags.ranker)}`);
  }
  const server = await startServer({
    dataset: flags.dataset,
    store: flags.store,
    user: flags.user,
    port: flags.port,
    host: flags.host,
    embeddings: flags.embeddings,
    ranker: flags.ranker as RankerName | undefined,
    prefetch: flags.prefetch,
    allowOrigins: flags.allowOrigin,
    allowHosts: flags.allowHost,
    ...(flags.tokenFile !== undefined ? { token: readOrCreateToken(flags.tokenFile) } : {}),
    // Log lines carry request paths a client chose: escaped, so none can move the cursor or fake a line.
    log: (line) => process.stderr.write(`quicksort serve: ${printable(line)}\n`),
  });
  const stats = server.dataset.stats();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, host: server.host, token: server.token, items: stats.items, hasEmbeddings: server.hasEmbeddings })}\n`);
  } else {
    process.stdout.write(
      [
        `QuickSort is serving ${printable(server.dataset.root)}`,
        `  ${stats.items.toLocaleString()} items, ${stats.labeledByHuman.toLocaleString()} labeled; ${server.hasEmbeddings ? 'with embeddings (suggestions and ranking)' : 'no embeddings: items in order, no suggestions (run `npx quicksort embed` to add them)'}`,
        '',
        `  Open ${server.url}`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  }
  if (stats.items === 0) process.stderr.write(`quicksort serve: the store has no items; run \`npx quicksort ingest --dataset ${printable(flags.dataset)}\`\n`);
  if (!LOOPBACK.has(flags.host)) {
    process.stderr.write(`quicksort serve: listening on ${flags.host}: anyone who can reach this machine and has the URL with its token can label\n`);
    process.stderr.write('quicksort serve: it answers only to its own names (its addresses, localhost and the host name); add the others people use, a DNS name or a proxy\'s, with --allow-host\n');
  }
  stopOnSignals(server);
  return server;
}

/** The first SIGINT/SIGTERM closes clients and the store cleanly; a second one exits at once. */
function stopOnSignals(server: RunningServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`quicksort serve: ${signal}: closing ${server.clients} client(s) and the store…\n`);
    server.close().then(
      () => {
        process.stderr.write('quicksort serve: stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`quicksort serve: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CommanderInvalidArgument(`expected a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return n;
}

/** Repeated flags and comma lists both add to one list. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((part) => part.trim()).filter((part) => part !== '')];
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
