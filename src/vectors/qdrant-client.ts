/**
 * @qdrant/js-client-rest ships CommonJS and ES builds but declares one set of types, marked as ES ("type":
 * "module"), so TypeScript refuses a static import from our CommonJS output (TS1479/TS1542), and the attribute
 * that would allow a type import is spelled differently by the two compilers in node_modules (`assert` in the
 * 5.0 that `npm run build` reaches through tslab, `with` in the 6.0 that ts-jest uses). So: Node's require
 * loads the package's CommonJS build, and its types come from a dynamic import() that is never called (both
 * compilers resolve that as ES without any attribute). Those types stay inside this file, where they check
 * {@link QdrantCalls} against the real client; declaration files could not name them.
 */
const typesOnly = () => import('@qdrant/js-client-rest');
type QdrantRest = Awaited<ReturnType<typeof typesOnly>>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const qdrant = require('@qdrant/js-client-rest') as QdrantRest;

export type QdrantDistance = 'Cosine' | 'Dot';

/**
 * The part of Qdrant's Filter schema we send (OpenAPI components.schemas Filter, FieldCondition + MatchValue,
 * IsEmptyCondition, HasIdCondition).
 */
export type QdrantCondition =
  | { key: string; match: { value: string | boolean } }
  | { is_empty: { key: string } }
  | { has_id: number[] }
  /** Points that carry this named vector (Qdrant ≥ 1.13). */
  | { has_vector: string };
export interface QdrantFilter {
  must?: QdrantCondition[];
  must_not?: QdrantCondition[];
}

type Write = { wait: boolean };
type VectorParams = { size: number; distance: QdrantDistance };
/** One alias action of POST /collections/aliases; a list of them is applied atomically. */
export type QdrantAliasAction =
  | { create_alias: { collection_name: string; alias_name: string } }
  | { delete_alias: { alias_name: string } };

/** The client calls the adapter makes, with the argument and result shapes it relies on. */
export interface QdrantCalls {
  collectionExists(collection: string): Promise<{ exists: boolean }>;
  getCollection(collection: string): Promise<{ config: { params: { vectors?: unknown } }; payload_schema: Record<string, unknown> }>;
  /** One unnamed vector, or named ones (a map of name → params). */
  createCollection(collection: string, args: { vectors: VectorParams | Record<string, VectorParams> }): Promise<boolean>;
  createPayloadIndex(collection: string, args: Write & { field_name: string; field_schema: 'bool' | 'keyword' }): Promise<unknown>;
  upsert(collection: string, args: Write & { points: { id: number; vector: number[] | Record<string, number[]>; payload: Record<string, unknown> }[] }): Promise<unknown>;
  setPayload(collection: string, args: Write & { payload: Record<string, unknown>; filter: QdrantFilter }): Promise<unknown>;
  delete(collection: string, args: Write & { points: number[] }): Promise<unknown>;
  query(
    collection: string,
    args: { query: number[]; using?: string; limit: number; filter?: QdrantFilter; with_payload: boolean; with_vector: boolean },
  ): Promise<{ points: { id: number | string; score: number }[] }>;
  count(collection: string, args: { exact: boolean; filter?: QdrantFilter }): Promise<{ count: number }>;
  getCollections(): Promise<{ collections: { name: string }[] }>;
  getCollectionAliases(collection: string): Promise<{ aliases: { alias_name: string; collection_name: string }[] }>;
  getAliases(): Promise<{ aliases: { alias_name: string; collection_name: string }[] }>;
  updateCollectionAliases(args: { actions: QdrantAliasAction[] }): Promise<boolean>;
  deleteCollection(collection: string): Promise<boolean>;
}

export interface QdrantConnection {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** A REST client for one server; the assignment checks {@link QdrantCalls} against the client's typings. */
export function createQdrantClient(connection: QdrantConnection): QdrantCalls {
  const client: QdrantCalls = new qdrant.QdrantClient({
    url: connection.url,
    ...(connection.apiKey !== undefined ? { apiKey: connection.apiKey } : {}),
    timeout: connection.timeoutMs,
    // The version probe only warns on the console; the collection check fails with a real error instead.
    checkCompatibility: false,
  });
  return client;
}
