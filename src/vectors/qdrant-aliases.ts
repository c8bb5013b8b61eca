import { createQdrantClient, type QdrantCalls } from './qdrant-client';
import { checkQdrantTarget, qdrantFailure, qdrantStatusOf } from './qdrant-failure';

/**
 * A Qdrant alias and the collection versions behind it: an alias is another name for one collection, moved
 * to another collection in one request (Qdrant applies a list of alias actions atomically), so readers of
 * the alias go from a complete old version to a complete new one with nothing in between.
 * Versions are collections named `<alias>-<version>`.
 *
 * @example
 * const versions = new QdrantVersions({ url, alias: 'photos-joint' });
 * await versions.switchTo('photos-joint-3f2a…'); // the alias now names it; the one before is returned
 */
export class QdrantVersions {
  readonly url: string;
  readonly alias: string;
  private readonly client: QdrantCalls;

  constructor(config: { url: string; apiKey?: string; alias: string; timeoutMs?: number }) {
    checkQdrantTarget(config.url, config.alias);
    this.url = config.url;
    this.alias = config.alias;
    this.client = createQdrantClient({ url: config.url, ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}), timeoutMs: config.timeoutMs ?? 60_000 });
  }

  /** The collection of version `version`. */
  collectionOf(version: string): string {
    return `${this.alias}-${version}`;
  }

  /** The collection the alias names now, undefined when it names none. */
  async current(): Promise<string | undefined> {
    const { aliases } = await this.call('alias lookup', this.alias, () => this.client.getAliases());
    return aliases.find((alias) => alias.alias_name === this.alias)?.collection_name;
  }

  /** Moves the alias to `collection` in one atomic request; returns the collection it named before (if another). */
  async switchTo(collection: string): Promise<string | undefined> {
    const before = await this.current();
    if (before === collection) return undefined;
    const actions = [...(before !== undefined ? [{ delete_alias: { alias_name: this.alias } }] : []), { create_alias: { collection_name: collection, alias_name: this.alias } }];
    await this.call('alias switch', collection, () => this.client.updateCollectionAliases({ actions }));
    return before;
  }

  /** Every version collection of this alias on the server (`<alias>-…`). */
  async versions(): Promise<string[]> {
    const { collections } = await this.call('collection list', this.alias, () => this.client.getCollections());
    return collections.map((collection) => collection.name).filter((name) => name.startsWith(`${this.alias}-`));
  }

  /** Deletes a version collection (gone already is fine). */
  async drop(collection: string): Promise<void> {
    try {
      await this.client.deleteCollection(collection);
    } catch (error) {
      if (qdrantStatusOf(error) !== 404) throw qdrantFailure('collection delete', { url: this.url, collection }, error);
    }
  }

  private async call<T>(what: string, collection: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw qdrantFailure(what, { url: this.url, collection }, error);
    }
  }
}
