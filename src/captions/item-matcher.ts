import path from 'node:path';
import { isWithinFolder } from '../paths';
import type { ItemCaption, StoreReader } from '../store';

/** What a row's image name matched: an item, or why none. */
export type MatchResult = { item: MatchedItem } | { unmatched: 'no item' | 'several items' } | { outside: string };

export interface MatchedItem {
  id: number;
  /** Its captions when the matcher was made. */
  readonly captions: ItemCaption[];
}

/** An item as read for matching: its captions' JSON parsed only once a row names the item. */
class IndexedItem implements MatchedItem {
  private parsed: ItemCaption[] | undefined;
  constructor(
    readonly id: number,
    private readonly captionsJson: string,
  ) {}
  get captions(): ItemCaption[] {
    return (this.parsed ??= this.captionsJson === '[]' ? [] : (JSON.parse(this.captionsJson) as ItemCaption[]));
  }
}

const AMBIGUOUS = -1;

/**
 * Finds the item a captions file means by an image name. By its path in the dataset folder first (`uri`); a
 * bare file name (no folder in it, as COCO's `file_name` is) also matches the one whole image of that file
 * name anywhere in the dataset — two of them is no match ("several items"), never a guess.
 *
 * Only whole images are matched, never crops: a caption describes the whole scene, and the crop of one
 * object of it ("a man riding a horse" on the crop of the dog beside them) would teach a text model wrong
 * pairs. Deleted items are not matched either.
 */
export class ItemMatcher {
  private readonly root: string;
  private readonly byUri = new Map<string, MatchedItem>();
  private readonly byFileName = new Map<string, number>();
  private readonly items = new Map<number, MatchedItem>();
  /** Rows name each image several times (COCO: 5 captions an image): each name is resolved once. */
  private readonly results = new Map<string, MatchResult>();

  constructor(store: StoreReader, root: string) {
    this.root = path.resolve(root);
    // Bare rows, no object per item: an import into 1M items reads them all.
    for (const row of store.iterateItemRows({})) {
      const [id, uri] = row;
      if (row[13] !== null) continue; // a crop (it has a source image)
      const item = new IndexedItem(id, row[20]);
      this.byUri.set(uri, item);
      this.items.set(id, item);
      const base = path.posix.basename(uri);
      this.byFileName.set(base, this.byFileName.has(base) ? AMBIGUOUS : id);
    }
  }

  match(name: string): MatchResult {
    let result = this.results.get(name);
    if (result === undefined) {
      result = this.resolve(name);
      this.results.set(name, result);
    }
    return result;
  }

  private resolve(name: string): MatchResult {
    const resolved = path.resolve(this.root, name);
    if (!isWithinFolder(this.root, resolved) || resolved === this.root) return { outside: resolved };
    const uri = path.relative(this.root, resolved).split(path.sep).join('/');
    const exact = this.byUri.get(uri);
    if (exact) return { item: exact };
    if (name.includes('/') || name.includes('\\')) return { unmatched: 'no item' };
    const id = this.byFileName.get(name);
    if (id === undefined) return { unmatched: 'no item' };
    return id === AMBIGUOUS ? { unmatched: 'several items' } : { item: this.items.get(id)! };
  }
}
