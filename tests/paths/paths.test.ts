import path from 'node:path';
import { isWithinFolder } from '../../src/paths';

describe('isWithinFolder', () => {
  const folder = path.resolve('/data/photos');

  it('holds the folder itself and what lies below it, a name that begins with ".." among them', () => {
    expect(isWithinFolder(folder, folder)).toBe(true);
    expect(isWithinFolder(folder, path.join(folder, 'a.jpg'))).toBe(true);
    expect(isWithinFolder(folder, path.join(folder, 'deep', 'er', 'a.jpg'))).toBe(true);
    expect(isWithinFolder(folder, path.join(folder, '..x.jpg'))).toBe(true);
    expect(isWithinFolder(folder, path.join(folder, '..x', 'a.jpg'))).toBe(true);
  });

  it('refuses the parent, its other children, a sibling whose name starts the same, and another root', () => {
    expect(isWithinFolder(folder, path.dirname(folder))).toBe(false);
    expect(isWithinFolder(folder, path.resolve(folder, '..', 'x.jpg'))).toBe(false);
    expect(isWithinFolder(folder, `${folder}-old${path.sep}a.jpg`)).toBe(false);
    expect(isWithinFolder(folder, path.resolve('/elsewhere/a.jpg'))).toBe(false);
  });
});
