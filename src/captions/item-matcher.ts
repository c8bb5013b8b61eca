import path from 'node:path';
import { isWithinFolder } from '../paths';
import type { ItemCaption, StoreReader } from '../store';

/** What a row's image name matched: an item, or why none. */
export type MatchResult = { item: MatchedItem } | { unmatched: 'no item' | 'several items' } | { outside: string };

export interface MatchedItem {
  id: number;
  captions: ItemCaption[];
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

  constructor(store: StoreReader, root: string) {
    this.root = path.resolve(root);
    for (const item of store.iterateItems({})) {
      if (item.sourceUri !== null) continue;
      const matched = { id: item.id, captions: item.captions };
      this.byUri.set(item.uri, matched);
      this.items.set(item.id, matched);
      const base = path.posix.basename(item.uri);
      this.byFileName.set(base, this.byFileName.has(base) ? AMBIGUOUS : item.id);
    }
  }

  match(name: string): MatchResult {
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
