import { Command, Option } from 'commander';
import { emit, InvalidArgumentError } from '../engine';
import { install, status, uninstall, type InstallScope, type LabCheck, type StatusReport } from '../install';

/**
 * `quicksort jupyter install|uninstall|status`: puts the TypeScript kernel (and, once built, the JupyterLab
 * extension) where Jupyter finds it. It lives beside the installer it drives: the engine's CLI (src/cli)
 * never imports the kernel (DESIGN.md), so the `quicksort` entry (./quicksort.ts) adds this command to it.
 */
interface ScopeFlags {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
  json?: boolean;
  force?: boolean;
}

/** Adds the `jupyter` command group to the CLI. */
export function registerJupyterCommand(program: Command): Command {
  const jupyter = program.command('jupyter').description('install the TypeScript (QuickSort) kernel into Jupyter, remove it, or show where it is');
  const withScope = (command: Command) =>
    command
      .addOption(new Option('--user', "the user's Jupyter data folder (the default)"))
      .addOption(new Option('--sys-prefix', "the data folder of the Python environment Jupyter runs in (sys.prefix/share/jupyter)"))
      .addOption(new Option('--prefix <dir>', 'DIR/share/jupyter (add it to JUPYTER_PATH)'))
      .option('--json', 'print machine-readable JSON on stdout');

  withScope(jupyter.command('install').description('write the kernelspec "TypeScript (QuickSort)" and the prebuilt JupyterLab extension'))
    .option('--force', 'replace a JupyterLab extension of the same name that quicksort did not install')
    .action((flags: ScopeFlags) => {
    const report = install({ scope: scopeOf(flags), force: flags.force ?? false });
    emit(flags.json ?? false, report, () =>
      [
        `installed the kernel "${report.kernelSpec.display_name}" in ${report.kernelDir}`,
        `  runs: ${report.kernelSpec.argv.join(' ')}`,
        'name' in report.labExtension
          ? `installed the JupyterLab extension ${report.labExtension.name} in ${report.labExtension.dir}`
          : `JupyterLab extension: not installed (${report.labExtension.missing})`,
      ].join('\n'),
    );
  });

  withScope(jupyter.command('uninstall').description('remove exactly what `quicksort jupyter install` wrote there')).action((flags: ScopeFlags) => {
    const report = uninstall({ scope: scopeOf(flags) });
    emit(flags.json ?? false, report, () =>
      report.removed.length === 0 ? `nothing to remove: no QuickSort kernel installed in ${report.kernelDir}` : `removed ${report.removed.length} files and folders:\n  ${report.removed.join('\n  ')}`,
    );
  });

  jupyter
    .command('status')
    .description('show where the kernel and the JupyterLab extension are installed, and which kernelspec Jupyter uses')
    .option('--json', 'print machine-readable JSON on stdout')
    .action((flags: { json?: boolean }) => {
      const report = status();
      emit(flags.json ?? false, report, () => describeStatus(report));
    });
  return jupyter;
}

function scopeOf(flags: ScopeFlags): InstallScope {
  const chosen = [flags.user && '--user', flags.sysPrefix && '--sys-prefix', flags.prefix !== undefined && '--prefix'].filter(Boolean);
  if (chosen.length > 1) throw new InvalidArgumentError(`choose one of --user, --sys-prefix and --prefix; got ${chosen.join(' and ')}`);
  if (flags.prefix !== undefined) return { kind: 'prefix', prefix: flags.prefix };
  if (flags.sysPrefix) return { kind: 'sys-prefix' };
  return { kind: 'user' };
}

function describeStatus(report: StatusReport): string {
  const lines: string[] = [];
  if (report.kernelSpecs.length === 0) {
    lines.push(`kernel "${report.displayName}": not installed (run \`npx quicksort jupyter install\`)`);
  }
  for (const spec of report.kernelSpecs) {
    const active = spec === report.active ? ' (used by Jupyter)' : ' (shadowed by the one above)';
    const by = spec.installedBy ? `quicksort ${spec.installedBy.version}, ${spec.installedBy.installedAt}` : 'not written by quicksort';
    lines.push(`kernel "${spec.displayName}" in ${spec.dir} [${spec.origin}]${active}`);
    lines.push(`  ${by}; ${spec.runnable ? 'runnable' : 'BROKEN: its node or kernel script is missing'}: ${spec.argv.join(' ')}`);
    if (spec.labExtension) lines.push(`  JupyterLab extension ${spec.labExtension.name} in ${spec.labExtension.dir}`);
  }
  lines.push('name' in report.labExtension ? `JupyterLab extension ${report.labExtension.name}: built at ${report.labExtension.dir}` : `JupyterLab extension: ${report.labExtension.missing}`);
  lines.push(`Jupyter searches: ${report.searchPath.map((entry) => `${entry.dir} [${entry.origin}]`).join(', ')}`);
  lines.push('What JupyterLab will find for the labeling widget:');
  const pieces: [string, LabCheck][] = [
    ['JupyterLab 4', report.lab.jupyterLab],
    ['widget manager (jupyterlab_widgets)', report.lab.widgetManager],
    ['QuickSort extension', report.lab.extension],
    ['anywidget (only for frontEnd: "anywidget")', report.lab.anywidget],
  ];
  for (const [what, check] of pieces) {
    const where = check.found ? `${check.found.version} in ${check.found.dir}` : 'not found';
    const state = check.ok ? 'ok     ' : check === report.lab.anywidget ? 'absent ' : 'MISSING';
    lines.push(`  ${state} ${what}: ${where}${check.problem ? ` — ${check.problem}` : ''}`);
    for (const copy of check.shadowed) lines.push(`          (ignored: ${copy.version} in ${copy.dir}, shadowed by the one above)`);
  }
  return lines.join('\n');
}
