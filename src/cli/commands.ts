import { Dataset } from '../dataset';
import { InvalidArgumentError } from '../errors';
import type { IngestReport, VerifyMode } from '../images';
import type { DatasetStats, IngestFailure, StoredEvent } from '../store';
import { openExisting } from './open-dataset';
import { emit, printable, ProgressBar } from './output';

export interface DatasetFlags {
  dataset: string;
  store?: string;
  user?: string;
  json?: boolean;
}

export async function ingestCommand(flags: DatasetFlags & { verify?: string; maxPixels?: number; progress?: boolean }): Promise<IngestReport> {
  if (flags.verify !== undefined && flags.verify !== 'decode' && flags.verify !== 'header') {
    throw new InvalidArgumentError(`--verify must be decode or header; got ${JSON.stringify(flags.verify)}`);
  }
  const ds = await Dataset.open(flags.dataset, { store: flags.store, user: flags.user });
  const bar = new ProgressBar('ingest', flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await ds.ingest({
      verify: flags.verify as VerifyMode | undefined,
      maxPixels: flags.maxPixels,
      onProgress: (p) => bar.update(p.done, p.found),
    });
    bar.stop();
    emit(flags.json ?? false, report, () => describeIngest(report, ds.root));
    return report;
  } finally {
    bar.stop();
    ds.close();
  }
}

export function describeIngest(report: IngestReport, root: string): string {
  const lines = [
    `Ingested ${printable(root)}: ${report.found} files found, ${report.added} added, ${report.updated} updated, ` +
      `${report.unchanged} unchanged, ${report.failed} failed, ${report.missing} missing (${report.seconds.toFixed(1)} s).`,
  ];
  if (report.duplicateGroups) lines.push(`${report.duplicateGroups} groups of files with identical content (see \`npx quicksort status\`).`);
  lines.push(...describeFailures(report.failures, report.failed));
  return lines.join('\n');
}

/** The first failures, one a line, names escaped (a name must not fake a line of its own). */
function describeFailures(failures: Pick<IngestFailure, 'uri' | 'reason'>[], total: number): string[] {
  const lines = failures.slice(0, 20).map((failure) => `  failed: ${printable(failure.uri)}: ${printable(failure.reason)}`);
  if (failures.length > 20) lines.push(`  … and ${total - 20} more (\`npx quicksort status --json\` lists them)`);
  return lines;
}

export async function statusCommand(flags: DatasetFlags): Promise<void> {
  const ds = await openExisting(flags);
  try {
    const stats = ds.stats();
    const failures = ds.failures();
    const duplicates = ds.duplicates();
    emit(flags.json ?? false, { dataset: ds.root, ...stats, failures, duplicates }, () =>
      [describeStats(ds.root, stats, failures.length), ...describeFailures(failures, failures.length)].join('\n'),
    );
  } finally {
    ds.close();
  }
}

export function describeStats(root: string, stats: DatasetStats, failed: number): string {
  const lines = [
    `Dataset ${printable(root)}`,
    `  items       ${stats.items} (${stats.labeled} labeled: ${stats.labeledByHuman} by people, ${stats.labeledByModel} by models; ${stats.unlabeled} unlabeled)`,
    `  skipped     ${stats.skipped}, don't know ${stats.dontKnow}, deleted ${stats.deleted}, captioned ${stats.captioned}`,
    `  files       ${stats.missing} missing, ${failed} failed to ingest, ${stats.duplicateGroups} duplicate groups`,
    `  events      ${stats.events}`,
  ];
  if (stats.classes.length) lines.push(`  classes     ${stats.classes.map((c) => `${printable(c.name)} (${c.count})`).join(', ')}`);
  return lines.join('\n');
}

export async function labelCommand(flags: DatasetFlags & { item: number; label: string }): Promise<void> {
  const ds = await openExisting(flags);
  try {
    const event = ds.label(flags.item, flags.label);
    emit(flags.json ?? false, event, () => `Item ${event.itemId} labeled ${printable(JSON.stringify(flags.label))} (event ${event.seq}).`);
  } finally {
    ds.close();
  }
}

export async function undoCommand(flags: DatasetFlags, redo = false): Promise<void> {
  const ds = await openExisting(flags);
  try {
    const events = redo ? ds.redo() : ds.undo();
    const verb = redo ? 'Redid' : 'Undid';
    emit(flags.json ?? false, { [redo ? 'redone' : 'undone']: events }, () =>
      events.length ? `${verb} ${describeEvents(events)}.` : `Nothing to ${redo ? 'redo' : 'undo'} for ${ds.user}.`,
    );
  } finally {
    ds.close();
  }
}

/** Each event of a small batch; a large one (an import) as counts by kind, or the line would run for pages. */
function describeEvents(events: StoredEvent[]): string {
  if (events.length <= 20) return events.map(describeEvent).join(', ');
  const kinds = new Map<string, number>();
  for (const event of events) kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
  const items = new Set(events.map((event) => event.itemId)).size;
  return `${events.length} actions (${[...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ')}) on ${items} items`;
}

function describeEvent(event: StoredEvent): string {
  const value = event.kind === 'label' ? ` ${printable(JSON.stringify(event.payload.label))}` : '';
  return `${event.kind}${value} on item ${event.itemId}`;
}

export async function itemsCommand(flags: DatasetFlags & { label?: string; unlabeled?: boolean; limit?: number; offset?: number }): Promise<void> {
  const ds = await openExisting(flags);
  try {
    const items = ds.items({
      where: { ...(flags.label !== undefined ? { label: flags.label } : {}), ...(flags.unlabeled ? { labeled: false } : {}) },
      limit: flags.limit ?? 50,
      offset: flags.offset ?? 0,
    });
    emit(flags.json ?? false, items, () =>
      items.map((item) => `${String(item.id).padStart(6)}  ${printable(item.label ?? '-')}\t${item.width}×${item.height}\t${printable(item.uri)}`).join('\n'),
    );
  } finally {
    ds.close();
  }
}
