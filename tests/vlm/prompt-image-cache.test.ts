import path from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { ImageError } from '../../src/errors';
import { PromptImageCache, PromptImages } from '../../src/vlm';
import { makePng, tempDir } from '../helpers/fixtures';

/**
 * Prompt images kept across runs (a queue's rounds show the same labelled neighbours again): a later run takes
 * an image an earlier one encoded, by content hash and size, without reading the file; the least recently
 * used leave beyond the capacity.
 */
test('a later run reuses what an earlier one encoded, by hash and size; the least recently used are dropped', async () => {
  const temp = tempDir();
  try {
    const items = ['a', 'b', 'c'].map((name, i) => ({ hash: `hash-${name}`, uri: `${name}.png`, seed: i + 1 }));
    for (const item of items) writeFileSync(path.join(temp.dir, item.uri), await makePng(64, 48, item.seed));
    const shared = new PromptImageCache(2);
    const first = new PromptImages(temp.dir, 32, undefined, shared);
    const encoded = await Promise.all(items.slice(0, 2).map((item) => first.load(first.add(item))));
    expect(shared.size).toBe(2);
    // The files are gone: a later run still has both, from the shared cache.
    for (const item of items) rmSync(path.join(temp.dir, item.uri));
    const later = new PromptImages(temp.dir, 32, undefined, shared);
    expect(await later.load(later.add(items[0]!))).toBe(encoded[0]);
    // Another size is another image: not taken from the cache.
    const larger = new PromptImages(temp.dir, 64, undefined, shared);
    await expect(larger.load(larger.add(items[0]!))).rejects.toBeInstanceOf(ImageError);
    // Over capacity, the least recently used (b: a was just used) leaves.
    writeFileSync(path.join(temp.dir, items[2]!.uri), await makePng(64, 48, 3));
    await later.load(later.add(items[2]!));
    expect(shared.size).toBe(2);
    const third = new PromptImages(temp.dir, 32, undefined, shared);
    expect(await third.load(third.add(items[0]!))).toBe(encoded[0]);
    await expect(third.load(third.add(items[1]!))).rejects.toBeInstanceOf(ImageError);
  } finally {
    temp.cleanup();
  }
});
