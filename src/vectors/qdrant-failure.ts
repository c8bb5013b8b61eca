import { InvalidArgumentError, messageOf } from '../errors';
import { VectorIndexError } from './errors';

/**
 * What the Qdrant adapters share: checking connection settings before any request, and turning a failed
 * request into a {@link VectorIndexError} that names the server and the collection and says what to do.
 */

/** Refuses a url or collection name that no request could use, before sending any. */
export function checkQdrantTarget(url: unknown, collection: unknown): void {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new InvalidArgumentError(`Qdrant url must start with http:// or https://; got ${JSON.stringify(url)}`);
  }
  if (typeof collection !== 'string' || !/^[A-Za-z0-9_.-]{1,255}$/.test(collection)) {
    throw new InvalidArgumentError(`Qdrant collection name must be 1-255 letters, digits, '_', '-' or '.'; got ${JSON.stringify(collection)}`);
  }
}

/** Qdrant's own words where it sent some ({ status: { error } }), the network's otherwise. */
export function qdrantFailure(what: string, target: { url: string; collection: string }, error: unknown): VectorIndexError {
  const status = qdrantStatusOf(error);
  const where = `collection "${target.collection}" at ${target.url}`;
  if (status !== undefined) {
    const data = (error as { data?: { status?: { error?: string } } }).data;
    const reason = data?.status?.error ?? JSON.stringify(data ?? null);
    const hint = status === 401 || status === 403 ? ' Check the API key.' : status === 404 ? ' Was the collection deleted while the index was open?' : '';
    return new VectorIndexError('qdrant', `Qdrant ${what} on ${where} failed with HTTP ${status}: ${reason}.${hint}`, { cause: error });
  }
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code !== undefined ? ` (${cause.code})` : '';
  return new VectorIndexError('qdrant', `Qdrant ${what} on ${where} failed: ${messageOf(error)}${code}. Is the server running and the url right?`, { cause: error });
}

/** The HTTP status of a failed client call, undefined when the request got no answer. */
export function qdrantStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
