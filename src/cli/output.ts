import { SingleBar, Presets } from 'cli-progress';

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
