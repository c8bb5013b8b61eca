import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TypeScript from '@tslab/typescript-for-tslab';

const DIST = path.join(__dirname, '..', '..', 'dist');

/** tslab compiles cells with its own TypeScript (5.0), not the project's; load that one. */
const ts = createRequire(require.resolve('tslab/dist/converter.js'))('@tslab/typescript-for-tslab') as typeof TypeScript;

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return declarations(file);
    return file.endsWith('.d.ts') ? [file] : [];
  });
}

describe("the shipped declarations, read by tslab's TypeScript", () => {
  it('is TypeScript 5.0, older than the compiler that emits them', () => {
    expect(ts.version).toMatch(/^5\.0\./);
  });

  it('reads every dist/**/*.d.ts (engine and kernel) without a syntax or type error', () => {
    const files = declarations(DIST);
    expect(files).toEqual(expect.arrayContaining([path.join(DIST, 'index.d.ts'), path.join(DIST, 'kernel', 'index.d.ts')]));
    const program = ts.createProgram(files, {
      noEmit: true,
      // Check the declarations themselves, strictly: a construct TypeScript 5.0 cannot read shows up here
      // instead of silently turning types into `any` in notebooks.
      skipLibCheck: false,
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      types: ['node'],
    });
    const problems = program
      .getSourceFiles()
      .filter((file) => file.fileName.startsWith(DIST))
      .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
      .map((d) => `${d.file ? path.relative(DIST, d.file.fileName) : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    if (problems.length > 0) {
      throw new Error(
        `TypeScript ${ts.version} (tslab's, which compiles notebook cells) cannot read these shipped declarations, so cells would see \`any\` there:\n  ${problems.join('\n  ')}\n` +
          'Usual cause: TypeScript 5.7+ emits typed arrays and Buffers as generics (Float32Array<ArrayBuffer>, Buffer<ArrayBuffer>) when a type is inferred, e.g. from a default parameter value or an initialiser; write the plain type explicitly in exported signatures.',
      );
    }
  });
});
