import { Command, CommanderError, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import { packageVersion } from '../package';
import { endQuietlyOnClosedPipe, reportFailure } from './output';
import { registerSimulateCommand } from './simulate-command';
import { registerEmbedCommand } from './embed-command';
import { registerCocoCommands } from './coco-command';
import { registerExportCommand } from './export-command';
import { registerServeCommand } from './serve-command';
import { registerMapCommand } from './map-command';
import { registerThumbnailsCommand } from './thumbnails-command';
import { registerCaptionsCommands } from './captions-command';
import { registerTextCommands } from './text-command';
import { registerVlmCommands } from './vlm-command';
import { ingestCommand, itemsCommand, labelCommand, statusCommand, undoCommand } from './commands';
import { registerQuickstartCommand } from './quickstart-command';

/**
 * Exit codes (README's table lists them all, tests/cli/exit-codes.test.ts holds the two together): 0 success;
 * 1 an unexpected failure; 2 a usage error; otherwise a {@link QuickSortError}'s `exitCode` (3 dataset,
 * 4 not found, 5 conflict, 6 image, 7 model, 8 COCO, 9 export, 10 store, 11 protocol, 75 busy), also 6 and 8
 * when a command found input but could use none of it; 130 for a second Ctrl-C while serve is closing.
 */
export function buildProgram(commands: readonly CommandRegistrar[] = []): Command {
  const program = new Command('quicksort')
    .description('Notebook-native image curation: label, caption and clean image datasets.')
    .version(packageVersion())
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  const withDataset = (command: Command) =>
    command
      .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
      .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
      .option('--user <name>', 'who is acting (default $QUICKSORT_USER or "local")')
      .option('--json', 'print machine-readable JSON on stdout');

  withDataset(program.command('ingest').description('add new and changed images of a folder to its store'))
    .addOption(new Option('--verify <mode>', 'decode every image, or read headers only').choices(['decode', 'header']).default('decode'))
    .option('--max-pixels <n>', 'refuse images with more pixels than this', parsePositiveInt)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (flags) => {
      const report = await ingestCommand(flags);
      process.exitCode = report.failed > 0 && report.added + report.updated + report.unchanged === 0 ? 6 : 0;
    });

  withDataset(program.command('status').description('show counts of items, labels, classes, failures and duplicates')).action(statusCommand);

  withDataset(program.command('items').description('list items with their labels'))
    .option('--label <name>', 'only items with this label')
    .option('--unlabeled', 'only items without a label')
    .option('--limit <n>', 'at most this many (default 50)', parsePositiveInt)
    .option('--offset <n>', 'skip this many first', parseNonNegativeInt)
    .action(itemsCommand);

  withDataset(program.command('label').description('label one item'))
    .requiredOption('--item <id>', 'the item id (see `npx quicksort items`)', parsePositiveInt)
    .requiredOption('--label <name>', 'the class name')
    .action(labelCommand);

  withDataset(program.command('undo').description("take back the user's latest action")).action((flags) => undoCommand(flags));
  withDataset(program.command('redo').description('re-apply what the latest undo took back')).action((flags) => undoCommand(flags, true));

  registerQuickstartCommand(program);
  registerSimulateCommand(program);
  // Commands of other packages, added by the `quicksort` entry (the kernel's `jupyter`, kernel/cli/quicksort.ts).
  for (const register of commands) register(program);
  registerEmbedCommand(program);
  registerCocoCommands(program);
  registerExportCommand(program);
  registerServeCommand(program);
  registerMapCommand(program);
  registerThumbnailsCommand(program);
  registerCaptionsCommands(program);
  registerTextCommands(program);
  registerVlmCommands(program);
  return program;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommanderInvalidArgument(`expected a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Adds a command (or a group) to the program. */
export type CommandRegistrar = (program: Command) => unknown;

export async function main(argv: string[], commands: readonly CommandRegistrar[] = []): Promise<void> {
  endQuietlyOnClosedPipe();
  const program = buildProgram(commands);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    reportFailure('quicksort', error);
  }
}
