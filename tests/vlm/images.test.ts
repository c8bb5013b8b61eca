import path from 'node:path';
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
import { ImageError } from '../../src/errors';
import { promptImage } from '../../src/vlm';
import { makePng, tempDir } from '../helpers/fixtures';

/** Prompt images: scaled to fit, never enlarged, JPEG, and a typed error naming a bad file. */

test('scaled to fit maxSide on the longer side, as a JPEG; small images are not enlarged', async () => {
  const wide = await promptImage(await makePng(900, 300, 7), 448);
  expect(wide.mime).toBe('image/jpeg');
  expect(await sharp(wide.data).metadata()).toMatchObject({ format: 'jpeg', width: 448, height: 149 });
  const small = await promptImage(await makePng(40, 30, 3), 448);
  expect(await sharp(small.data).metadata()).toMatchObject({ width: 40, height: 30 });
});

test('a path is read; an unreadable or undecodable file is an ImageError naming it', async () => {
  const temp = tempDir();
  try {
    const good = path.join(temp.dir, 'a.png');
    writeFileSync(good, await makePng(64, 64, 1));
    expect((await promptImage(good, 32)).mime).toBe('image/jpeg');
    const bad = path.join(temp.dir, 'b.jpg');
    writeFileSync(bad, 'not an image');
    await expect(promptImage(bad, 32)).rejects.toMatchObject({ name: 'ImageError', file: bad });
    await expect(promptImage(path.join(temp.dir, 'missing.jpg'), 32)).rejects.toBeInstanceOf(ImageError);
  } finally {
    temp.cleanup();
  }
});
