import { InvalidArgumentError } from '../errors';
import {
  FILTER_KEYS,
  PAYLOAD_KEYS,
  VECTOR_METRICS,
  type PointFilter,
  type PointPayload,
  type VectorMetric,
  type VectorPoint,
} from './vector-index';

/**
 * Argument checks shared by every adapter, so both refuse the same inputs with the same words before touching
 * their backend (the contract suite holds them to it).
 */

/** The shape an index was opened with, for messages. */
export interface IndexShape {
  dim: number;
  metric: VectorMetric;
}

export function checkShape(dim: unknown, metric: unknown): IndexShape {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > 65536) {
    throw new InvalidArgumentError(`vector index dim must be an integer in 1..65536; got ${String(dim)}`);
  }
  if (!VECTOR_METRICS.includes(metric as VectorMetric)) {
    throw new InvalidArgumentError(`vector index metric must be one of ${VECTOR_METRICS.join(', ')}; got ${JSON.stringify(metric)}`);
  }
  return { dim, metric: metric as VectorMetric };
}

export function checkId(id: unknown, what = 'point id'): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative safe integer (an item id); got ${String(id)}`);
  }
  return id;
}

export function checkIds(ids: unknown): readonly number[] {
  if (!Array.isArray(ids)) throw new InvalidArgumentError(`ids must be an array of item ids; got ${typeof ids}`);
  for (const id of ids) checkId(id);
  return ids as number[];
}

/**
 * Checks a vector's type, size and values. `id` names the point in the message (undefined for a query).
 * Cosine refuses zero vectors: they have no direction, and normalising one would make NaNs.
 */
export function checkVector(vector: unknown, shape: IndexShape, id?: number): Float32Array {
  const what = id === undefined ? 'query vector' : `vector of point ${id}`;
  if (!(vector instanceof Float32Array)) {
    const got = vector === null ? 'null' : typeof vector === 'object' ? (vector as object).constructor.name : typeof vector;
    throw new InvalidArgumentError(`${what} must be a Float32Array; got ${got}`);
  }
  if (vector.length !== shape.dim) {
    throw new InvalidArgumentError(
      `${what} has ${vector.length} dimensions; this index holds ${shape.dim}-d ${shape.metric} vectors. ` +
        `Embed with the model the index was built with, or open a separate index for ${vector.length}-d vectors.`,
    );
  }
  let norm = 0;
  for (let j = 0; j < vector.length; j++) {
    const value = vector[j]!;
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`${what} has a non-finite value (${value}) at position ${j}`);
    norm += value * value;
  }
  if (shape.metric === 'cosine' && norm === 0) {
    throw new InvalidArgumentError(`${what} is all zeros; cosine similarity is undefined for it`);
  }
  return vector;
}

export function checkPayload(payload: unknown, id: number): PointPayload {
  const partial = checkPartialPayload(payload, `payload of point ${id}`);
  const missing = PAYLOAD_KEYS.filter((key) => !(key in partial));
  if (missing.length > 0) {
    throw new InvalidArgumentError(`payload of point ${id} lacks ${missing.join(', ')}; a full payload has ${PAYLOAD_KEYS.join(', ')}`);
  }
  return partial as PointPayload;
}

export function checkPartialPayload(payload: unknown, what = 'payload'): Partial<PointPayload> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidArgumentError(`${what} must be an object with some of ${PAYLOAD_KEYS.join(', ')}; got ${JSON.stringify(payload)}`);
  }
  const record = payload as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!PAYLOAD_KEYS.includes(key as keyof PointPayload)) {
      throw new InvalidArgumentError(`${what} has an unknown key "${key}"; allowed: ${PAYLOAD_KEYS.join(', ')}`);
    }
  }
  if ('labeled' in record && typeof record.labeled !== 'boolean') {
    throw new InvalidArgumentError(`${what}.labeled must be a boolean; got ${JSON.stringify(record.labeled)}`);
  }
  for (const key of ['label', 'split'] as const) {
    if (key in record && record[key] !== null && typeof record[key] !== 'string') {
      throw new InvalidArgumentError(`${what}.${key} must be a string or null; got ${JSON.stringify(record[key])}`);
    }
  }
  return record as Partial<PointPayload>;
}

/** Checks a batch of points before anything is written, so a bad point leaves the index untouched. */
export function checkPoints(points: unknown, shape: IndexShape): readonly VectorPoint[] {
  if (!Array.isArray(points)) throw new InvalidArgumentError(`upsert expects an array of points; got ${typeof points}`);
  for (const point of points as VectorPoint[]) {
    if (typeof point !== 'object' || point === null) throw new InvalidArgumentError(`each point must be an object { id, vector, payload? }; got ${String(point)}`);
    checkId(point.id);
    checkVector(point.vector, shape, point.id);
    if (point.payload !== undefined) checkPayload(point.payload, point.id);
  }
  return points as VectorPoint[];
}

export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new InvalidArgumentError(`k (how many neighbours to return) must be a positive integer; got ${String(k)}`);
  }
  return k;
}

export function checkFilter(filter: unknown): PointFilter | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidArgumentError(`filter must be an object with some of ${FILTER_KEYS.join(', ')}; got ${JSON.stringify(filter)}`);
  }
  const record = filter as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FILTER_KEYS.includes(key as keyof PointFilter)) {
      throw new InvalidArgumentError(`filter has an unknown key "${key}"; allowed: ${FILTER_KEYS.join(', ')}`);
    }
  }
  if (record.labeled !== undefined && typeof record.labeled !== 'boolean') {
    throw new InvalidArgumentError(`filter.labeled must be a boolean; got ${JSON.stringify(record.labeled)}`);
  }
  if (record.label !== undefined && record.label !== null && typeof record.label !== 'string') {
    throw new InvalidArgumentError(`filter.label must be a class name or null (unlabeled); got ${JSON.stringify(record.label)}`);
  }
  if (record.split !== undefined && typeof record.split !== 'string') {
    throw new InvalidArgumentError(`filter.split must be a string; got ${JSON.stringify(record.split)}`);
  }
  if (record.excludeIds !== undefined) {
    if (!Array.isArray(record.excludeIds)) throw new InvalidArgumentError(`filter.excludeIds must be an array of item ids`);
    for (const id of record.excludeIds) checkId(id, 'filter.excludeIds entry');
  }
  return record as PointFilter;
}

/** True when the filter lets every point through. */
export function isEmptyFilter(filter: PointFilter | undefined): boolean {
  return (
    filter === undefined ||
    (filter.labeled === undefined && filter.label === undefined && filter.split === undefined && (filter.excludeIds?.length ?? 0) === 0)
  );
}
