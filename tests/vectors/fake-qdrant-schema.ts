/**
 * Request-body shapes of the Qdrant REST calls the adapter makes, written from Qdrant's OpenAPI schema as the
 * client declares it (node_modules/@qdrant/js-client-rest/dist/types/openapi/generated_schema.d.ts, v1.18):
 * CreateCollection, VectorParams, CreateFieldIndex, PointsList/PointStruct, SetPayload, PointsSelector,
 * CountRequest, QueryRequest, ChangeAliasesOperation, Filter and its Conditions.
 *
 * Every field the schema allows is known here. Fields the fake server does not implement are reported as
 * such (not silently ignored), so a new field in the adapter's requests fails the tests until the fake learns it.
 */

export type Check = (value: unknown, path: string, errors: string[]) => void;

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

export const str: Check = (value, path, errors) => {
  if (typeof value !== 'string') errors.push(`${path}: expected a string, got ${typeName(value)}`);
};
export const bool: Check = (value, path, errors) => {
  if (typeof value !== 'boolean') errors.push(`${path}: expected a boolean, got ${typeName(value)}`);
};
export const num: Check = (value, path, errors) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) errors.push(`${path}: expected a number, got ${typeName(value)}`);
};
export const uint: Check = (value, path, errors) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) errors.push(`${path}: expected an unsigned integer, got ${JSON.stringify(value)}`);
};
export const positive: Check = (value, path, errors) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) errors.push(`${path}: expected a positive integer, got ${JSON.stringify(value)}`);
};
export const literal =
  (...allowed: string[]): Check =>
  (value, path, errors) => {
    if (typeof value !== 'string' || !allowed.includes(value)) errors.push(`${path}: expected one of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
  };
export const arrayOf =
  (item: Check): Check =>
  (value, path, errors) => {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected an array, got ${typeName(value)}`);
    value.forEach((element, i) => item(element, `${path}[${i}]`, errors));
  };
export const nullable =
  (check: Check): Check =>
  (value, path, errors) => {
    if (value !== null) check(value, path, errors);
  };
export const anyObject: Check = (value, path, errors) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) errors.push(`${path}: expected an object, got ${typeName(value)}`);
};
/**
 * Passes when one alternative passes. Otherwise reports the alternative that got furthest: one whose
 * complaints are about the value's insides rather than its type, and among those the fewest.
 */
export const oneOf =
  (...alternatives: Check[]): Check =>
  (value, path, errors) => {
    let best: string[] | null = null;
    const rank = (own: string[]) => (own.some((error) => error.startsWith(`${path}: expected`)) ? 1e6 : 0) + own.length;
    for (const alternative of alternatives) {
      const own: string[] = [];
      alternative(value, path, own);
      if (own.length === 0) return;
      if (best === null || rank(own) < rank(best)) best = own;
    }
    errors.push(...(best ?? [`${path}: matches no alternative`]));
  };

const NOT_IMPLEMENTED = Symbol('not implemented');
type Field = { check: Check; required?: boolean } | typeof NOT_IMPLEMENTED;
export const req = (check: Check): Field => ({ check, required: true });
export const opt = (check: Check): Field => ({ check });
/** A field Qdrant accepts that the fake server does not model. */
export const unmodelled: Field = NOT_IMPLEMENTED;
/** The check of a required field that the fake server does not model: always a complaint. */
export const notModelled: Check = (_, path, errors) => void errors.push(`${path}: valid in Qdrant but not modelled by the fake server`);

export const object =
  (fields: Record<string, Field>): Check =>
  (value, path, errors) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return void errors.push(`${path}: expected an object, got ${typeName(value)}`);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = fields[key];
      if (field === undefined) errors.push(`${path}.${key}: unknown field (Qdrant's schema has ${Object.keys(fields).join(', ')})`);
      else if (field === NOT_IMPLEMENTED) {
        if (record[key] !== null) errors.push(`${path}.${key}: valid in Qdrant but not modelled by the fake server`);
      } else field.check(record[key], `${path}.${key}`, errors);
    }
    for (const [key, field] of Object.entries(fields)) {
      if (field !== NOT_IMPLEMENTED && field.required && !(key in record)) errors.push(`${path}: missing field \`${key}\``);
    }
  };

/** ExtendedPointId: an unsigned integer or a UUID string. */
export const pointId: Check = oneOf(uint, (value, path, errors) => {
  if (typeof value !== 'string' || !/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(value)) {
    errors.push(`${path}: expected an unsigned integer or a UUID, got ${JSON.stringify(value)}`);
  }
});

const distance = literal('Cosine', 'Euclid', 'Dot', 'Manhattan');

export const vectorParams: Check = object({
  size: req(positive),
  distance: req(distance),
  hnsw_config: unmodelled,
  quantization_config: unmodelled,
  on_disk: opt(nullable(bool)),
  datatype: unmodelled,
  multivector_config: unmodelled,
});

export const createCollection: Check = object({
  // VectorsConfig: one unnamed VectorParams, or a map of named ones.
  vectors: opt(oneOf(vectorParams, (value, path, errors) => {
    anyObject(value, path, errors);
    if (errors.length === 0) for (const [name, params] of Object.entries(value as object)) vectorParams(params, `${path}.${name}`, errors);
  })),
  shard_number: unmodelled,
  sharding_method: unmodelled,
  replication_factor: unmodelled,
  write_consistency_factor: unmodelled,
  on_disk_payload: unmodelled,
  hnsw_config: unmodelled,
  wal_config: unmodelled,
  optimizers_config: unmodelled,
  quantization_config: unmodelled,
  sparse_vectors: unmodelled,
  strict_mode_config: unmodelled,
  metadata: unmodelled,
});

export const createFieldIndex: Check = object({
  field_name: req(str),
  field_schema: opt(literal('keyword', 'integer', 'float', 'geo', 'text', 'bool', 'datetime', 'uuid')),
});

const valueVariant: Check = oneOf(str, num, bool);
const match: Check = oneOf(
  object({ value: req(valueVariant) }),
  object({ any: req(oneOf(arrayOf(str), arrayOf(num))) }),
  object({ except: req(oneOf(arrayOf(str), arrayOf(num))) }),
  object({ text: req(notModelled) }),
);
const payloadField = object({ key: req(str) });

/** Filter and Condition refer to each other (a Filter is a Condition), hence the late binding. */
export const filter: Check = (value, path, errors) => filterShape(value, path, errors);
const condition: Check = oneOf(
  object({
    key: req(str),
    match: opt(nullable(match)),
    range: unmodelled,
    geo_bounding_box: unmodelled,
    geo_radius: unmodelled,
    geo_polygon: unmodelled,
    values_count: unmodelled,
    is_empty: opt(nullable(bool)),
    is_null: opt(nullable(bool)),
  }),
  object({ is_empty: req(payloadField) }),
  object({ is_null: req(payloadField) }),
  object({ has_id: req(arrayOf(pointId)) }),
  object({ has_vector: req(str) }),
  object({ nested: req(notModelled) }),
  filter,
);
const conditions: Check = nullable(oneOf(condition, arrayOf(condition)));
const filterShape: Check = object({
  should: opt(conditions),
  min_should: opt(nullable(object({ conditions: req(arrayOf(condition)), min_count: req(uint) }))),
  must: opt(conditions),
  must_not: opt(conditions),
});

const payload: Check = anyObject;

/** A map of vector name → dense vector (VectorStruct's named form). */
const namedVectors: Check = (value, path, errors) => {
  anyObject(value, path, errors);
  if (errors.length === 0) for (const [name, vector] of Object.entries(value as object)) arrayOf(num)(vector, `${path}.${name}`, errors);
};

export const pointsList: Check = object({
  // VectorStruct: one dense vector, or named ones (a map of name → vector); multi-vectors are not modelled.
  points: req(arrayOf(object({ id: req(pointId), vector: req(oneOf(arrayOf(num), namedVectors)), payload: opt(nullable(payload)) }))),
  shard_key: unmodelled,
  update_filter: unmodelled,
  update_mode: unmodelled,
});

export const setPayload: Check = object({
  payload: req(payload),
  points: opt(nullable(arrayOf(pointId))),
  filter: opt(nullable(filter)),
  shard_key: unmodelled,
  key: unmodelled,
});

export const pointsSelector: Check = oneOf(
  object({ points: req(arrayOf(pointId)), shard_key: unmodelled }),
  object({ filter: req(filter), shard_key: unmodelled }),
);

export const countRequest: Check = object({ shard_key: unmodelled, filter: opt(nullable(filter)), exact: opt(bool) });

export const queryRequest: Check = object({
  shard_key: unmodelled,
  prefetch: unmodelled,
  // QueryInterface: a dense vector directly, or { nearest: vector }; the other query kinds are not modelled.
  query: opt(nullable(oneOf(arrayOf(num), object({ nearest: req(arrayOf(num)), mmr: unmodelled })))),
  // The named vector to search (default: the unnamed one, "").
  using: opt(nullable(str)),
  filter: opt(nullable(filter)),
  params: unmodelled,
  score_threshold: opt(nullable(num)),
  limit: opt(nullable(positive)),
  offset: opt(nullable(uint)),
  with_vector: opt(nullable(bool)),
  with_payload: opt(nullable(bool)),
  lookup_from: unmodelled,
});

/** ChangeAliasesOperation: a list of alias actions, applied together. */
export const changeAliases: Check = object({
  actions: req(
    arrayOf(
      oneOf(
        object({ create_alias: req(object({ collection_name: req(str), alias_name: req(str) })) }),
        object({ delete_alias: req(object({ alias_name: req(str) })) }),
        object({ rename_alias: req(object({ old_alias_name: req(str), new_alias_name: req(str) })) }),
      ),
    ),
  ),
});
