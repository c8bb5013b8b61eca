import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { install } from '../../dist/kernel/install';
import { JUPYTER, jupyterHome, requireJupyterTools } from './jupyter-tools';

const NOTEBOOKS = path.join(__dirname, '..', '..', 'notebooks');

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** The notebooks are executed headless as CI does: Debian's `jupyter nbconvert --execute`, on our kernelspec. */
describe('notebooks/ under jupyter nbconvert --execute', () => {
  const home = jupyterHome();
  beforeAll(() => {
    requireJupyterTools();
    install({ scope: { kind: 'prefix', prefix: home.prefix } });
  });
  afterAll(() => home.cleanup());

  const notebooks = readdirSync(NOTEBOOKS).filter((name) => name.endsWith('.ipynb')).sort();

  it('has notebooks, each naming the QuickSort kernel', () => {
    expect(notebooks).toContain('01-getting-started.ipynb');
    for (const name of notebooks) {
      expect(JSON.parse(readFileSync(path.join(NOTEBOOKS, name), 'utf8')).metadata.kernelspec.name).toBe('quicksort');
    }
  });

  it.each(notebooks)('runs %s with no error', (name) => {
    const out = path.join(home.root, 'out');
    const run = spawnSync(
      JUPYTER,
      ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=120', '--output-dir', out, path.join(NOTEBOOKS, name)],
      { encoding: 'utf8', env: home.env, timeout: 180000 },
    );
    if (run.status !== 0) throw new Error(`nbconvert failed on ${name} (exit ${run.status}):\n${run.stderr}`);
    const executed = JSON.parse(readFileSync(path.join(out, name), 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
    const code = executed.cells.filter((cell) => cell.cell_type === 'code');
    const outputs = code.flatMap((cell) => cell.outputs ?? []);
    expect(outputs.filter((output) => output.output_type === 'error')).toEqual([]);
    expect(outputs.length).toBeGreaterThan(0);
    if (name === '01-getting-started.ipynb') {
      const text = outputs.map((output) => [output.data?.['text/plain'] ?? ''].flat().join('')).join('\n');
      expect(text).toMatch(/36 added, 0 failed/);
      // The progress bars end in their final state (nbconvert keeps the last update of a display id).
      expect(text).toMatch(/Ingesting \[#{30}\] 36 \/ 36 files · .*done in/);
      expect(text).toMatch(/Embedding \[#{30}\] 36 \/ 36 images · .*done in/);
      expect(text).toMatch(/labeled: 4/);
      expect(text).toMatch(/classes: \[ \{ name: 'cat', count: 2 \}, \{ name: 'dog', count: 2 \} \]/);
      const svg = outputs.map((output) => [output.data?.['image/svg+xml'] ?? ''].flat().join('')).join('\n');
      expect(svg).toMatch(/Embedding map: 36 of 36 items/);
    }
  }, 180000);
});
