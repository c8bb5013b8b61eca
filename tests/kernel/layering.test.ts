import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

/** DESIGN.md: src/ never imports from widget/ or kernel/; the kernel composes with the engine, not the reverse. */
describe('the engine (src/) reaches no build output and no kernel by path', () => {
  it('has no import or require of a path into dist/, kernel/ or widget/', () => {
    const offending = sources(SRC).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/(?:require\(|import\(|from )\s*['"`]([^'"`]+)['"`]/g)]
        .map((match) => match[1]!)
        .filter((specifier) => specifier.startsWith('.') && /(^|\/)(dist|kernel|widget)(\/|$)/.test(path.relative(path.join(SRC, '..'), path.resolve(path.dirname(file), specifier))))
        .map((specifier) => `${path.relative(SRC, file)}: ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('builds no path into dist/kernel to load at run time', () => {
    const offending = sources(SRC).filter((file) => /['"`]dist['"`]\s*,\s*['"`]kernel['"`]/.test(readFileSync(file, 'utf8')));
    expect(offending.map((file) => path.relative(SRC, file))).toEqual([]);
  });
});
