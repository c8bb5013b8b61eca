/** Every progress report the engine gives (ingest, embed, map, COCO import, export), read by its shape. */
export type ProgressReport =
  | { done: number; total: number; phase?: string }
  | { done: number; found: number; walking?: boolean }
  | { rows: number; totalRows: number }
  | { phase?: string; crops: { done: number; total: number } };

/**
 * Done and total (0 while unknown: a folder still being walked, a COCO file still being read) and the phase
 * of any engine progress report: the one reading behind the notebook's bars and the app's.
 *
 * @example
 * readProgress({ found: 10, done: 3, walking: true }); // { done: 3, total: 0, phase: 'finding files' }
 */
export function readProgress(report: ProgressReport): { done: number; total: number; phase: string | undefined } {
  if ('crops' in report) return { done: report.crops.done, total: report.phase === 'reading' ? 0 : report.crops.total, phase: report.phase };
  if ('rows' in report) return { done: report.rows, total: report.totalRows, phase: undefined };
  if ('found' in report) return report.walking ? { done: report.done, total: 0, phase: 'finding files' } : { done: report.done, total: report.found, phase: undefined };
  return { done: report.done, total: report.total, phase: report.phase };
}
