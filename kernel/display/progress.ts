/**
 * A progress bar in a cell's output, fed by any of the engine's `onProgress` callbacks: one output, updated
 * in place (update_display_data), at most a few times a second, with the rate and the time left.
 *
 * @example
 * import { progress } from 'quicksort/kernel';
 * await ds.ingest({ onProgress: progress('Ingesting') });
 * await ds.embed({ onProgress: progress('Embedding', { unit: 'images' }) });
 * const bar = progress('Map');
 * const map = await ds.map({ onProgress: bar });
 * bar.finish(); // work in phases does not know its own end
 */
import { readProgress, type ProgressReport } from '../engine';
import { DISPLAY, display, type DisplayHandle, type Displayable } from './index';

type ProgressState = ReturnType<typeof readProgress>;

export type { ProgressReport };

export interface ProgressOptions {
  /** What is counted, after the numbers (default "items"). */
  unit?: string;
  /** Least time between two updates of the output (default 250 ms); the first and the last always show. */
  intervalMs?: number;
}

/**
 * An `onProgress` callback that draws. It shows the final state by itself once `done` reaches `total`; work
 * reported in phases (a map, a COCO import) has a total per phase, so call `finish()` after it.
 */
export interface ProgressBar {
  (report: ProgressReport): void;
  /** Shows the final state with the elapsed time, whatever the last report was. */
  finish(): void;
}

/** A progress bar for the running cell (needs the QuickSort kernel). */
export function progress(label: string, options: ProgressOptions = {}): ProgressBar {
  const unit = options.unit ?? 'items';
  const intervalMs = options.intervalMs ?? 250;
  const started = Date.now();
  let handle: DisplayHandle | undefined;
  let last: ProgressState = { done: 0, total: 0, phase: undefined };
  let shownAt = 0;
  let finished = false;

  const show = (final: boolean) => {
    const view = progressView(label, unit, last, Date.now() - started, final);
    if (handle) handle.update(view);
    else handle = display(view);
    shownAt = Date.now();
  };

  const bar = ((report: ProgressReport) => {
    if (finished) return;
    last = readProgress(report);
    const complete = last.phase === undefined && last.total > 0 && last.done >= last.total;
    if (complete) return bar.finish();
    if (!handle || Date.now() - shownAt >= intervalMs) show(false);
  }) as ProgressBar;
  bar.finish = () => {
    if (finished) return;
    finished = true;
    show(true);
  };
  return bar;
}

/** The output for one state: an HTML `<progress>` with its numbers, and the same as text. */
export function progressView(label: string, unit: string, state: ProgressState, elapsedMs: number, final: boolean): Displayable {
  const { done, total, phase } = state;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0.5 ? done / seconds : undefined;
  const count = !total ? `${done.toLocaleString('en-US')} ${unit}` : `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} ${unit}`;
  const parts = [count];
  if (rate !== undefined && done > 0) parts.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s`);
  if (final) parts.push(`done in ${formatSeconds(seconds)}`);
  else if (rate && total > done) parts.push(`about ${formatSeconds((total - done) / rate)} left`);
  if (phase && !final) parts.push(phase);
  const text = parts.join(' · ');
  const fraction = total ? Math.min(1, done / total) : undefined;
  const width = 30;
  const filled = fraction === undefined ? 0 : Math.round(fraction * width);
  const plain = `${label} [${fraction === undefined ? '?'.repeat(width) : '#'.repeat(filled) + '.'.repeat(width - filled)}] ${text}`;
  const meter = fraction === undefined && !final ? '<progress style="width:16em"></progress>' : `<progress style="width:16em" max="1" value="${final ? 1 : fraction}"></progress>`;
  const html = `<div class="quicksort-progress"><b>${escapeHtml(label)}</b> ${meter} <span>${escapeHtml(text)}</span></div>`;
  return { [DISPLAY]: () => ({ 'text/html': html, 'text/plain': plain }) };
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
