/**
 * @qdrant/js-client-rest ships CommonJS and ES builds but declares one set of types, marked as ES ("type":
 * "module"), so TypeScript refuses a static import from our CommonJS output (TS1479/TS1542), and the attribute
 * that would allow a type import is spelled differently by the two compilers in node_modules (`assert` in the
 * 5.0 that `npm run build` reaches through tslab, `with` in the 6.0 that ts-jest uses). So: Node's require
 * loads the package's CommonJS build, and the types come from a dynamic import() that is never called (which
 * both compilers resolve as ES without any attribute).
 */
const typesOnly = () => import('@qdrant/js-client-rest');
type QdrantRest = Awaited<ReturnType<typeof typesOnly>>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const qdrant = require('@qdrant/js-client-rest') as QdrantRest;

export const QdrantClient = qdrant.QdrantClient;
export type QdrantClient = InstanceType<QdrantRest['QdrantClient']>;

/**
 * The part of Qdrant's Filter schema we send (OpenAPI components.schemas Filter, FieldCondition + MatchValue,
 * IsEmptyCondition, HasIdCondition). Written out because the client's own parameter type widens to
 * Record<string, unknown>, which would check nothing.
 */
export type QdrantCondition = { key: string; match: { value: string | boolean } } | { is_empty: { key: string } } | { has_id: number[] };
export interface QdrantFilter {
  must?: QdrantCondition[];
  must_not?: QdrantCondition[];
}
/** A collection's vectors config, as getCollection() reports it. */
export type QdrantVectorsConfig = Awaited<ReturnType<QdrantClient['getCollection']>>['config']['params']['vectors'];
export type QdrantDistance = 'Cosine' | 'Dot';
