import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AtomicOutput } from '../../src/output';
import { tempDir } from '../helpers/fixtures';

describe('AtomicOutput', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir();
  });
  afterEach(() => temp.cleanup());

  it('removes what killed writers of the same output left (their file, folder, replaced folder, a COCO bridge\'s nested file), keeping live ones', async () => {
    const stale = ['.x.json.99999999-abcd.partial', '..x.json.99999999-abcd.partial.99999999-0123.partial', '.x.json.99999998-beef.partial.old'];
    const kept = [`.x.json.${process.pid}-f00d.partial`, '.y.json.99999999-abcd.partial', '.x.json.notes', 'x.json.99999999-abcd.partial'];
    for (const name of [...stale, ...kept]) writeFileSync(path.join(temp.dir, name), name);
    mkdirSync(path.join(temp.dir, '.x.json.99999997-cafe.partial', 'shards'), { recursive: true });

    const output = await AtomicOutput.prepare(path.join(temp.dir, 'x.json'), 'file');
    writeFileSync(output.tempPath, '{}');
    await output.commit();
    expect(readdirSync(temp.dir).sort()).toEqual([...kept, 'x.json'].sort());
  });
});
