import { SingleBar, Presets } from 'cli-progress';
import { QuickSortError, messageOf } from '../errors';

// Characters that can move the cursor, end a line, reorder what follows (bidi overrides and isolates) or
// hide (zero-width, BOM, soft hyphen) when a file name reaches a terminal: controls (C0, DEL, C1), format
// characters, line and paragraph separators, and lone surrogates. The zero-width joiner and non-joiner stay:
// emoji sequences and several scripts (Persian, the Indic ones) need them to be spelled right.
const UNPRINTABLE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A file name, uri, label or message made safe for human-readable output: every character that could fake
 * a table row or drive the terminal is shown as an escape (`\n`, `\x1b`, `\u202e`), so what is printed is
 * what is on disk, visibly. Invalid UTF-8 bytes already reach here as `\xNN` (ingest names them so). JSON
 * output keeps the exact strings instead.
 *
 * @example
 * printable('a\nb\u202e.png') // 'a\\nb\\u202e.png'
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.codePointAt(0)!;
    const hex = code.toString(16);
    return NAMED_ESCAPES[char] ?? (code < 0x80 ? `\\x${hex.padStart(2, '0')}` : code > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`);
  });
}

/**
 * When whoever reads our output goes away (`quicksort items --json | head -1`), the command ends there,
 * quietly, with the exit code it had so far: nobody is left to read the rest, and a closed pipe is no
 * failure of the command. Node ignores SIGPIPE, so without this the next write throws EPIPE with a stack.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // Any other failure of our own output (EIO, a full disk behind a redirect) cannot be told on it either:
      // end with a failure code, not an uncaught exception's stack.
      if (error.code !== 'EPIPE') process.exitCode ||= 1;
      process.exit();
    });
  }
}

/** Tells on stderr why `program` failed (escaped, with the stack only when it is a bug), and sets the exit code. */
export function reportFailure(program: string, error: unknown): void {
  if (error instanceof QuickSortError) {
    process.stderr.write(`${program}: ${printable(error.message)}\n`);
    process.exitCode = error.exitCode;
    return;
  }
  const stack = error instanceof Error ? (error.stack ?? '').split('\n').slice(1).map(printable).join('\n') : '';
  process.stderr.write(`${program}: unexpected failure: ${printable(messageOf(error))}\n${stack}\n`);
  process.exitCode = 1;
}

/** Writes a value as JSON (for `--json`) or as text for people. */
export function emit(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/**
 * A progress bar on stderr, so stdout stays clean for `--json` and pipes. Silent when stderr is not a
 * terminal (CI logs) unless forced.
 */
export class ProgressBar {
  private readonly bar: SingleBar | undefined;
  private started = false;

  constructor(label: string, enabled = process.stderr.isTTY === true) {
    this.bar = enabled
      ? new SingleBar(
          { format: `${label} {bar} {value}/{total} {unit} | {rate}/s | eta {eta_formatted}`, hideCursor: true, etaBuffer: 200 },
          Presets.shades_classic,
        )
      : undefined;
  }

  update(done: number, total: number, unit = 'files'): void {
    if (!this.bar) return;
    const started = this.startedAt ?? (this.startedAt = performance.now());
    const seconds = (performance.now() - started) / 1000;
    const payload = { unit, rate: seconds > 0 ? Math.round(done / seconds) : 0 };
    if (!this.started) {
      this.bar.start(total, done, payload);
      this.started = true;
    } else {
      this.bar.setTotal(total);
      this.bar.update(done, payload);
    }
  }

  private startedAt: number | undefined;

  stop(): void {
    if (this.started) this.bar?.stop();
  }
}
