import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { walkImages, type WalkEntry } from '../../src/images';
import { tempDir } from '../helpers/fixtures';

async function walk(root: string): Promise<Record<string, WalkEntry>> {
  const entries: Record<string, WalkEntry> = {};
  for await (const entry of walkImages(root)) entries[entry.uri] = entry;
  return entries;
}

describe('walkImages', () => {
  let temp: ReturnType<typeof tempDir>;
  let root: string;

  beforeEach(() => {
    temp = tempDir();
    root = path.join(temp.dir, 'photos');
    mkdirSync(root);
  });
  afterEach(() => temp.cleanup());

  it('follows a link to a file inside the folder whose name begins with "..", and refuses one to ../', async () => {
    writeFileSync(path.join(root, '..x.jpg'), 'bytes');
    writeFileSync(path.join(temp.dir, 'x.jpg'), 'bytes');
    symlinkSync('..x.jpg', path.join(root, 'inside.jpg'));
    symlinkSync(path.join('..', 'x.jpg'), path.join(root, 'outside.jpg'));

    const entries = await walk(root);

    // `..x.jpg` itself is hidden, so only the link to it is listed.
    expect(Object.keys(entries).sort()).toEqual(['inside.jpg', 'outside.jpg']);
    expect(entries['inside.jpg']).toMatchObject({ kind: 'file', file: path.join(root, 'inside.jpg'), bytes: 5 });
    expect(entries['outside.jpg']).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/symbolic link points outside the dataset folder/) });
  });
});
