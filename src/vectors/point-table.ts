import type { PointFilter, PointPayload } from './vector-index';

/**
 * The embedded index's own copy of its points, column by column: a contiguous matrix for the exact scan (the
 * HNSW graph keeps its vectors inside native memory, out of JavaScript's reach), the ids, and the payload as
 * small integer codes. Rows are dense: deleting a point moves the last row into its place, so a scan never
 * meets a hole.
 *
 * Per-value counts are kept as points change, so a filter's selectivity is known without a scan.
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
  private labeledCount = 0;
  private readonly labelCounts: number[] = [];
  private readonly splitCounts: number[] = [];

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
   * The filter as a row predicate (null when it passes everything), with an upper bound on how many rows can
   * match, from the per-value counts: the bound decides between an exact scan of the matches and HNSW.
   */
  compile(filter: PointFilter | undefined): CompiledFilter {
    if (filter === undefined) return { test: null, upperBound: this.size, excludedRows: 0 };
    let upperBound = this.size;
    const checks: ((row: number) => boolean)[] = [];
    if (filter.labeled !== undefined) {
      const want = filter.labeled ? 1 : 0;
      upperBound = Math.min(upperBound, filter.labeled ? this.labeledCount : this.size - this.labeledCount);
      const labeled = this.labeled;
      checks.push((row) => labeled[row] === want);
    }
    if (filter.label !== undefined) {
      const code = filter.label === null ? -1 : this.labels.find(filter.label);
      if (code === undefined) return { test: () => false, upperBound: 0, excludedRows: 0 };
      upperBound = Math.min(upperBound, code < 0 ? this.size - this.labelCounts.reduce((a, b) => a + b, 0) : this.labelCounts[code] ?? 0);
      const labelCode = this.labelCode;
      checks.push((row) => labelCode[row] === code);
    }
    if (filter.split !== undefined) {
      const code = this.splits.find(filter.split);
      if (code === undefined) return { test: () => false, upperBound: 0, excludedRows: 0 };
      upperBound = Math.min(upperBound, this.splitCounts[code] ?? 0);
      const splitCode = this.splitCode;
      checks.push((row) => splitCode[row] === code);
    }
    let excludedRows = 0;
    if (filter.excludeIds !== undefined && filter.excludeIds.length > 0) {
      const excluded = new Set<number>();
      for (const id of filter.excludeIds) {
        const row = this.rowById.get(id);
        if (row !== undefined) excluded.add(row);
      }
      excludedRows = excluded.size;
      if (excluded.size > 0) checks.push((row) => !excluded.has(row));
      if (checks.length === 1) upperBound = Math.max(0, upperBound - excluded.size);
    }
    return { test: combine(checks), upperBound, excludedRows };
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
    this.labeledCount = 0;
    this.labelCounts.length = 0;
    this.splitCounts.length = 0;
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
    this.labeledCount += this.labeled[row]! * delta;
    const label = this.labelCode[row]!;
    if (label >= 0) this.labelCounts[label] = (this.labelCounts[label] ?? 0) + delta;
    const split = this.splitCode[row]!;
    if (split >= 0) this.splitCounts[split] = (this.splitCounts[split] ?? 0) + delta;
  }
}

export interface CompiledFilter {
  test: ((row: number) => boolean) | null;
  /** No more rows than this can pass. */
  upperBound: number;
  /** How many present rows `excludeIds` names. */
  excludedRows: number;
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
