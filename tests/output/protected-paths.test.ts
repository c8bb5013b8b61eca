import { copyFileSync, existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importCoco } from '../../src/coco';
import { Dataset } from '../../src/dataset';
import { embeddingCachePath } from '../../src/embed';
import { OutputError } from '../../src/errors';
import { ProtectedPaths, realPathOf } from '../../src/output';
import { thumbnailCachePath } from '../../src/session';
import { vlmCachePath } from '../../src/vlm';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, makePng, tempDir } from '../helpers/fixtures';

describe('ProtectedPaths', () => {
  let temp: ReturnType<typeof tempDir>;
  let root: string;
  let ds: Dataset;
  let guard: ProtectedPaths;
  beforeAll(async () => {
    temp = tempDir();
    root = path.join(temp.dir, 'photos');
    mkdirSync(path.join(root, 'images'), { recursive: true });
    writeFileSync(path.join(root, 'images', 'a.png'), await makePng(8, 8, 1));
    writeFileSync(path.join(root, 'images', 'b.png'), await makePng(8, 8, 2));
    ds = await Dataset.open(root);
    await ds.ingest({ threads: 1 });
    guard = await ProtectedPaths.of(ds);
  });
  afterAll(() => {
    ds.close();
    temp.cleanup();
  });

  const at = (...parts: string[]) => path.join(temp.dir, ...parts);
  const link = (name: string, target: string) => {
    const file = at(name);
    symlinkSync(target, file);
    return file;
  };

  it('lets outputs beside the images and elsewhere through', async () => {
    await expect(guard.check(at('labels.arrow'))).resolves.toBeUndefined();
    await expect(guard.check(path.join(root, 'labels.arrow'))).resolves.toBeUndefined();
    await expect(guard.check(path.join(root, 'images', 'new.png'))).resolves.toBeUndefined();
    await expect(guard.check(at('shards'))).resolves.toBeUndefined();
  });

  it('refuses the store and its WAL, plainly or through a symlink or a hard link', async () => {
    const store = ds.store.file;
    await expect(guard.check(store)).rejects.toThrow(/would overwrite the dataset's store, .*quicksort\.db; this is refused even with --force/);
    await expect(guard.check(`${store}-wal`)).rejects.toThrow(/the dataset's store's wal file/);
    await expect(guard.check(link('store-link.db', store))).rejects.toThrow(/store-link\.db \(which leads to .*quicksort\.db\) would overwrite the dataset's store/);
    const hard = at('hard.db');
    linkSync(store, hard);
    await expect(guard.check(hard)).rejects.toThrow(/the same file, by a hard link/);
    const error = await guard.check(store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputError);
    expect(error).toMatchObject({ code: 'EXPORT', exitCode: 9, output: store, protectedPath: await realPathOf(store) });
  });

  it('refuses anything in the state folder, also through a symlinked folder or a dangling link, but the command\'s own file', async () => {
    const state = path.join(root, '.quicksort');
    await expect(guard.check(path.join(state, 'embeddings.db'))).rejects.toThrow(/the embedding cache/);
    await expect(guard.check(path.join(state, 'new.svg'))).rejects.toThrow(/the dataset's state folder/);
    const folder = link('exports', state);
    await expect(guard.check(path.join(folder, 'labels.arrow'))).rejects.toThrow(/exports\/labels\.arrow \(which leads to .*\.quicksort\/labels\.arrow\) would overwrite the dataset's state folder/);
    await expect(guard.check(link('dangling.svg', path.join(state, 'missing.svg')))).rejects.toThrow(/state folder/);
    await expect(guard.check(path.join(state, 'map.svg'), { allowInState: ['map.svg'] })).resolves.toBeUndefined();
    await expect(guard.check(path.join(state, 'quicksort.db'), { allowInState: ['quicksort.db'] })).rejects.toThrow(/the dataset's store/);
  });

  it('refuses an image of the dataset, plainly or through a symlink, naming the item', async () => {
    const image = path.join(root, 'images', 'a.png');
    const item = ds.items().find((i) => i.uri === 'images/a.png')!;
    await expect(guard.check(image)).rejects.toThrow(new RegExp(`would overwrite the image of item ${item.id} \\(images/a\\.png\\)`));
    await expect(guard.check(link('image-link.png', image))).rejects.toThrow(/image-link\.png \(which leads to .*a\.png\) would overwrite the image of item/);
    // The dataset folder reached through a link of its own: the uri is the same.
    const viaLink = link('photos-link', root);
    await expect(guard.check(path.join(viaLink, 'images', 'b.png'))).rejects.toThrow(/the image of item/);
  });

  it('refuses the dataset folder, and a folder holding the store, as an output', async () => {
    await expect(guard.check(root)).rejects.toThrow(/would overwrite the dataset folder/);
    await expect(guard.check(temp.dir)).rejects.toThrow(/would overwrite a folder holding the dataset folder/);
    await expect(guard.check(path.join(root, '.quicksort'))).rejects.toThrow(/the dataset's state folder/);
  });

  it('refuses the COCO file a dataset was imported from, by any path to it', async () => {
    const crops = at('crops');
    const annotations = at('instances.json');
    copyFileSync(SAMPLE_ANNOTATIONS, annotations);
    mkdirSync(crops);
    const cropsDs = await Dataset.open(crops);
    try {
      await importCoco(cropsDs.store, cropsDs.root, { annotations, images: SAMPLE_IMAGES, minSize: 200, threads: 1 });
      const cocoGuard = await ProtectedPaths.of(cropsDs);
      await expect(cocoGuard.check(annotations)).rejects.toThrow(/the COCO file the dataset was imported from/);
      await expect(cocoGuard.check(link('coco-link.json', annotations))).rejects.toThrow(/coco-link\.json \(which leads to .*instances\.json\) would overwrite the COCO file/);
      const crop = cropsDs.items()[0]!;
      await expect(cocoGuard.check(cropsDs.pathOf(crop))).rejects.toThrow(/the image of item/);
    } finally {
      cropsDs.close();
    }
  });

  it('refuses the caches where src/embed, src/session and src/vlm put them, also through a hard link out of the state folder', async () => {
    const caches = [
      { file: vlmCachePath(ds.store.file), what: /the VLM's answer cache \(the same file, by a hard link\)/ },
      { file: embeddingCachePath(root), what: /the embedding cache \(the same file, by a hard link\)/ },
      { file: thumbnailCachePath(ds.store.file), what: /the thumbnail cache \(the same file, by a hard link\)/ },
    ];
    for (const { file } of caches) if (!existsSync(file)) writeFileSync(file, 'cache');
    const withCaches = await ProtectedPaths.of(ds);
    for (const [index, { file, what }] of caches.entries()) {
      const hard = at(`cache-${index}.db`);
      linkSync(file, hard);
      await expect(withCaches.check(hard)).rejects.toThrow(what);
    }
  });
});
