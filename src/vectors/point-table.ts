import type { PointFilter, PointPayload } from './vector-index';

/**
 * The embedded index's own copy of its points, column by column: a contiguous matrix for the exact scan (the
 * HNSW graph keeps its vectors inside native memory, out of JavaScript's reach), the ids, and the payload as
 * small integer codes. Rows are dense: deleting a point moves the last row into its place, so a scan never
 * meets a hole.
 *
 * Points are also counted per payload combination (labeled × label × split: a handful of combinations, however
 * many points), so how many points a filter keeps is known exactly without a scan.
 */
export class PointTable {
  size = 0;
  ids: Float64Array;
  matrix: Float32Array;
  labeled: Uint8Array;
  /** Index into `labels.values`, or -1 for null. */
  labelCode: Int32Array;
  /** Index into `splits.values`, or -1 for null. */
  splitCode: Int32Array;
  readonly labels = new Dictionary();
  readonly splits = new Dictionary();
  private readonly rowById = new Map<number, number>();
  private readonly comboCounts = new Map<number, number>();

  constructor(
    readonly dim: number,
    capacity = 0,
  ) {
    this.ids = new Float64Array(capacity);
    this.matrix = new Float32Array(capacity * dim);
    this.labeled = new Uint8Array(capacity);
    this.labelCode = new Int32Array(capacity);
    this.splitCode = new Int32Array(capacity);
  }

  rowOf(id: number): number | undefined {
    return this.rowById.get(id);
  }

  /** The stored vector of a row, without copying. */
  vectorAt(row: number): Float32Array {
    return this.matrix.subarray(row * this.dim, (row + 1) * this.dim);
  }

  payloadAt(row: number): PointPayload {
    const label = this.labelCode[row]!;
    const split = this.splitCode[row]!;
    return {
      labeled: this.labeled[row] === 1,
      label: label < 0 ? null : this.labels.values[label]!,
      split: split < 0 ? null : this.splits.values[split]!,
    };
  }

  /** Adds a point or overwrites the row of an id already present; returns its row. */
  put(id: number, vector: Float32Array, payload: PointPayload): number {
    let row = this.rowById.get(id);
    if (row === undefined) {
      this.reserve(this.size + 1);
      row = this.size++;
      this.rowById.set(id, row);
      this.ids[row] = id;
    } else {
      this.uncount(row);
    }
    this.matrix.set(vector, row * this.dim);
    this.labeled[row] = payload.labeled ? 1 : 0;
    this.labelCode[row] = payload.label === null ? -1 : this.labels.codeOf(payload.label);
    this.splitCode[row] = payload.split === null ? -1 : this.splits.codeOf(payload.split);
    this.count(row);
    return row;
  }

  setPayload(row: number, payload: Partial<PointPayload>): void {
    this.uncount(row);
    if (payload.labeled !== undefined) this.labeled[row] = payload.labeled ? 1 : 0;
    if (payload.label !== undefined) this.labelCode[row] = payload.label === null ? -1 : this.labels.codeOf(payload.label);
    if (payload.split !== undefined) this.splitCode[row] = payload.split === null ? -1 : this.splits.codeOf(payload.split);
    this.count(row);
  }

  /** Removes a point by moving the last row into its place. Returns false when the id is absent. */
  remove(id: number): boolean {
    const row = this.rowById.get(id);
    if (row === undefined) return false;
    this.uncount(row);
    this.rowById.delete(id);
    const last = --this.size;
    if (row !== last) {
      const movedId = this.ids[last]!;
      this.ids[row] = movedId;
      this.matrix.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
      this.labeled[row] = this.labeled[last]!;
      this.labelCode[row] = this.labelCode[last]!;
      this.splitCode[row] = this.splitCode[last]!;
      this.rowById.set(movedId, row);
    }
    return true;
  }

  /**
   * The filter as a row predicate (null when it passes everything) and the exact number of points it keeps,
   * which decides between an exact scan of the matches and the graph.
   */
  compile(filter: PointFilter | undefined): CompiledFilter {
    if (filter === undefined) return { test: null, matches: this.size, excludedRows: 0 };
    const checks: ((row: number) => boolean)[] = [];
    const wantLabeled = filter.labeled === undefined ? undefined : filter.labeled ? 1 : 0;
    if (wantLabeled !== undefined) {
      const labeled = this.labeled;
      checks.push((row) => labeled[row] === wantLabeled);
    }
    let wantLabel: number | undefined;
    if (filter.label !== undefined) {
      const code = filter.label === null ? -1 : this.labels.find(filter.label);
      if (code === undefined) return NOTHING;
      wantLabel = code;
      const labelCode = this.labelCode;
      checks.push((row) => labelCode[row] === code);
    }
    let wantSplit: number | undefined;
    if (filter.split !== undefined) {
      const code = this.splits.find(filter.split);
      if (code === undefined) return NOTHING;
      wantSplit = code;
      const splitCode = this.splitCode;
      checks.push((row) => splitCode[row] === code);
    }
    let matches = 0;
    for (const [key, count] of this.comboCounts) {
      const combo = decodeCombo(key);
      if ((wantLabeled === undefined || combo.labeled === wantLabeled) && (wantLabel === undefined || combo.label === wantLabel) && (wantSplit === undefined || combo.split === wantSplit)) {
        matches += count;
      }
    }
    const payloadTest = combine(checks);
    let excludedRows = 0;
    if (filter.excludeIds !== undefined && filter.excludeIds.length > 0) {
      const excluded = new Set<number>();
      for (const id of filter.excludeIds) {
        const row = this.rowById.get(id);
        if (row !== undefined) excluded.add(row);
      }
      excludedRows = excluded.size;
      for (const row of excluded) if (payloadTest === null || payloadTest(row)) matches--;
      if (excluded.size > 0) checks.push((row) => !excluded.has(row));
    }
    return { test: combine(checks), matches, excludedRows };
  }

  /** The rows that pass a predicate, in row order. */
  rowsWhere(test: (row: number) => boolean): Int32Array {
    const out = new Int32Array(this.size);
    let n = 0;
    for (let row = 0; row < this.size; row++) if (test(row)) out[n++] = row;
    return out.subarray(0, n);
  }

  /** Grows the columns geometrically (×1.5) so appends are amortised O(1). */
  reserve(rows: number): void {
    if (rows <= this.ids.length) return;
    const capacity = Math.max(rows, Math.ceil(this.ids.length * 1.5), 64);
    const grow = <T extends Float64Array | Float32Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T, width = 1): T => {
      const next = make(capacity * width);
      next.set(old.subarray(0, this.size * width));
      return next;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n));
    this.matrix = grow(this.matrix, (n) => new Float32Array(n), this.dim);
    this.labeled = grow(this.labeled, (n) => new Uint8Array(n));
    this.labelCode = grow(this.labelCode, (n) => new Int32Array(n));
    this.splitCode = grow(this.splitCode, (n) => new Int32Array(n));
  }

  /** Rebuilds the id map and the counts after the columns were filled from a file. */
  reindex(): void {
    this.rowById.clear();
    this.comboCounts.clear();
    for (let row = 0; row < this.size; row++) {
      this.rowById.set(this.ids[row]!, row);
      this.count(row);
    }
  }

  private count(row: number): void {
    this.tally(row, 1);
  }

  private uncount(row: number): void {
    this.tally(row, -1);
  }

  private tally(row: number, delta: number): void {
    const key = encodeCombo(this.labeled[row]!, this.labelCode[row]!, this.splitCode[row]!);
    const count = (this.comboCounts.get(key) ?? 0) + delta;
    if (count === 0) this.comboCounts.delete(key);
    else this.comboCounts.set(key, count);
  }
}

export interface CompiledFilter {
  test: ((row: number) => boolean) | null;
  /** How many rows pass. */
  matches: number;
  /** How many present rows `excludeIds` names. */
  excludedRows: number;
}

const NOTHING: CompiledFilter = { test: () => false, matches: 0, excludedRows: 0 };

/** One number per payload combination; codes are below 2^20 (a million classes or splits). */
const CODE_SPAN = 2 ** 20;

function encodeCombo(labeled: number, label: number, split: number): number {
  return labeled + 2 * (label + 1 + CODE_SPAN * (split + 1));
}

function decodeCombo(key: number): { labeled: number; label: number; split: number } {
  const labeled = key % 2;
  const rest = (key - labeled) / 2;
  const label = (rest % CODE_SPAN) - 1;
  return { labeled, label, split: (rest - label - 1) / CODE_SPAN - 1 };
}

function combine(checks: ((row: number) => boolean)[]): ((row: number) => boolean) | null {
  if (checks.length === 0) return null;
  if (checks.length === 1) return checks[0]!;
  return (row) => {
    for (const check of checks) if (!check(row)) return false;
    return true;
  };
}

/** Strings to dense codes. Codes are never reused: a class that disappears keeps its code until the next load. */
export class Dictionary {
  readonly values: string[] = [];
  private readonly codes = new Map<string, number>();

  codeOf(value: string): number {
    let code = this.codes.get(value);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(value);
      this.codes.set(value, code);
    }
    return code;
  }

  find(value: string): number | undefined {
    return this.codes.get(value);
  }
}
