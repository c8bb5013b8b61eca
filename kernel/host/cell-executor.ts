import { createRequire } from 'node:module';
import { format, inspect } from 'node:util';
import { createConverter, isCompleteCode, type Converter } from 'tslab/dist/converter';
import { createExecutor, type ConverterSet, type Executor } from 'tslab/dist/executor';
import { printQuickInfo } from 'tslab/dist/inspect';
import type { ErrorContent, IsCompleteReply } from '../protocol';
import type { TypeScriptSystem } from './module-resolution';

/** What running one cell gave: a value for its last expression, or an error ready for the wire. */
export type CellOutcome = { status: 'ok'; hasValue: boolean; value?: unknown } | { status: 'error'; error: ErrorContent };

/** The `ts.sys` of the TypeScript that tslab compiles cells with (its own 5.0 copy, not the project's). */
export function tslabTypeScriptSystem(): TypeScriptSystem {
  const fromTslab = createRequire(require.resolve('tslab/dist/converter.js'));
  return (fromTslab('@tslab/typescript-for-tslab') as { sys: TypeScriptSystem }).sys;
}

/** The TypeScript version tslab compiles cells with. */
export function tslabTypeScriptVersion(): string {
  const fromTslab = createRequire(require.resolve('tslab/dist/converter.js'));
  return (fromTslab('@tslab/typescript-for-tslab') as { version: string }).version;
}

interface RunRecord {
  hasValue: boolean;
  value?: unknown;
  reports: unknown[][];
}

const INTERRUPTED = /Interrupted asynchronously|Script execution (was )?interrupted/;

/**
 * TypeScript cells through tslab's converter (TypeScript → JavaScript, declarations carried from cell to
 * cell, top-level await) and executor (runs the code in this process, interruptible by SIGINT while
 * synchronous and by {@link interrupt} while awaiting). tslab reports through a console it is given; this
 * class listens to it to turn results and errors into Jupyter's execute_result and error content.
 */
export class CellExecutor {
  private executor: Executor | undefined;
  private converters: { node?: Converter; browser?: Converter } = {};
  private run: RunRecord | undefined;

  constructor(
    private readonly folder: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Builds the compiler now (about a second) instead of on the first cell. */
  warm(): void {
    this.ensure();
  }

  async execute(code: string): Promise<CellOutcome> {
    const executor = this.ensure();
    const run: RunRecord = { hasValue: false, reports: [] };
    this.run = run;
    let ok: boolean;
    try {
      ok = await executor.execute(code);
    } catch (error) {
      // tslab's own failures (not the cell's): still an error the user sees, named as ours.
      return { status: 'error', error: runtimeError(error, 'KernelError') };
    } finally {
      this.run = undefined;
    }
    if (ok) return run.hasValue ? { status: 'ok', hasValue: true, value: run.value } : { status: 'ok', hasValue: false };
    return { status: 'error', error: describeFailure(run.reports, code) };
  }

  /** Completions at a UTF-16 offset. */
  complete(code: string, offset: number): { matches: string[]; start: number; end: number } {
    const info = this.ensure().complete(code, offset);
    return { matches: info.candidates, start: info.start, end: info.end };
  }

  /** The type and documentation of the symbol at a UTF-16 offset, as text. */
  inspect(code: string, offset: number): string | undefined {
    const info = this.ensure().inspect(code, offset);
    return info ? printQuickInfo(info) : undefined;
  }

  isComplete(code: string): IsCompleteReply {
    const result = isCompleteCode(code);
    return result.completed ? { status: 'complete' } : { status: 'incomplete', indent: result.indent ?? '' };
  }

  /** Stops an awaiting cell (its promise is abandoned; work it started may go on in the background). */
  interrupt(): void {
    this.executor?.interrupt();
  }

  close(): void {
    this.executor?.close();
    this.executor = undefined;
  }

  private ensure(): Executor {
    if (this.executor) return this.executor;
    const converters = this.converters;
    const set: ConverterSet = {
      get node() {
        return (converters.node ??= createConverter({ isJS: false, isBrowser: false }));
      },
      get browser() {
        return (converters.browser ??= createConverter({ isJS: false, isBrowser: true }));
      },
      close() {
        converters.node?.close();
        converters.browser?.close();
      },
    };
    this.executor = createExecutor(this.folder, set, {
      // tslab calls log with the value of the cell's last expression, and error with diagnostics and thrown values.
      log: (value: unknown) => {
        if (!this.run) return;
        this.run.hasValue = true;
        this.run.value = value;
      },
      error: (...args: unknown[]) => {
        if (this.run) this.run.reports.push(args);
        else this.log(`tslab: ${format(...args)}`);
      },
    });
    void set.node; // compile nothing yet, but build the program (the slow part)
    return this.executor;
  }
}

/** Turns what tslab reported for a failed cell into error content. */
function describeFailure(reports: unknown[][], code: string): ErrorContent {
  // Diagnostics come as console.error("%s%d:%d - %s", file, line, column, message), one call each.
  const diagnostics = reports.filter((args) => args[0] === '%s%d:%d - %s');
  if (diagnostics.length > 0) return compileError(diagnostics, code);
  const thrown = reports.find((args) => args.length === 1)?.[0];
  if (thrown === undefined && reports.length === 0) {
    return { ename: 'KernelError', evalue: 'the cell failed without a message', traceback: ['KernelError: the cell failed without a message'] };
  }
  return runtimeError(thrown ?? format(...(reports[0] ?? [])));
}

function compileError(diagnostics: unknown[][], code: string): ErrorContent {
  const lines = code.split('\n');
  const traceback = [`CompileError: the cell does not compile (${diagnostics.length} TypeScript ${diagnostics.length === 1 ? 'error' : 'errors'})`];
  let first = '';
  for (const [, file, line, column, message] of diagnostics) {
    const text = String(message);
    first ||= text;
    if (file) {
      traceback.push(`${file}${line}:${column} - ${text}`);
      continue;
    }
    const lineNumber = Number(line);
    const source = lines[lineNumber - 1] ?? '';
    const gutter = String(lineNumber).padStart(4);
    traceback.push(`${gutter} | ${source}`, `${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, Number(column) - 1))}^ ${text}`);
  }
  return { ename: 'CompileError', evalue: first, traceback };
}

/** Error content for a thrown value: name, message, the cell's own stack frames and the chain of causes. */
function runtimeError(thrown: unknown, fallbackName = 'Error'): ErrorContent {
  if (!(thrown instanceof Error)) {
    const text = typeof thrown === 'string' ? thrown : inspect(thrown);
    return { ename: 'Thrown', evalue: text, traceback: [`Thrown: ${text}`] };
  }
  if (INTERRUPTED.test(thrown.message)) {
    return { ename: 'Interrupted', evalue: 'the cell was interrupted', traceback: ['Interrupted: the cell was interrupted'] };
  }
  const ename = thrown.name || fallbackName;
  const code = (thrown as { code?: unknown }).code;
  const traceback = [`${ename}${typeof code === 'string' ? ` [${code}]` : ''}: ${thrown.message}`, ...cellFrames(thrown)];
  let cause = thrown.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    if (cause instanceof Error) {
      traceback.push(`Caused by ${cause.name}: ${cause.message}`, ...cellFrames(cause));
      cause = cause.cause;
    } else {
      traceback.push(`Caused by: ${inspect(cause)}`);
      break;
    }
  }
  return { ename, evalue: thrown.message, traceback };
}

/**
 * The stack frames worth showing: those up to where the kernel's machinery starts. Cell code runs as
 * `evalmachine.<anonymous>`, compiled, so its line numbers would mislead; it is shown as `<cell>`.
 */
function cellFrames(error: Error): string[] {
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const shown: string[] = [];
  for (const frame of frames) {
    if (/node:vm|tslab[/\\]dist[/\\]executor|dist[/\\]kernel[/\\]host/.test(frame)) break;
    const line = frame.replace(/evalmachine\.<anonymous>:\d+:\d+/, '<cell>');
    if (shown[shown.length - 1] !== line) shown.push(line);
  }
  return shown;
}
