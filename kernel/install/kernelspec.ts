import path from 'node:path';

/** The kernel's name: its folder under `kernels/`, and what notebooks name in `metadata.kernelspec.name`. */
export const KERNEL_NAME = 'quicksort';

/** What Jupyter shows in its launcher and kernel menus. */
export const DISPLAY_NAME = 'TypeScript (QuickSort)';

/** kernel.json (jupyter_client "Kernel specs"). */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  /** "signal": Jupyter sends SIGINT, the only way to stop a cell that never yields. */
  interrupt_mode: 'signal' | 'message';
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/**
 * The kernelspec for the kernel in `packageRoot`, run by the Node at `node` (this Node by default: an
 * absolute path, so Jupyter finds it whatever its PATH).
 */
export function kernelSpec(packageRoot: string, version: string, node = process.execPath): KernelSpec {
  return {
    argv: [node, path.join(packageRoot, 'dist', 'kernel', 'main.js'), '--connection-file', '{connection_file}'],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    interrupt_mode: 'signal',
    env: {},
    metadata: { quicksort: { version, packageRoot }, debugger: false },
  };
}

/** The logo JupyterLab shows in the launcher (`logo-svg.svg` in the kernelspec folder). */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <rect width="64" height="64" rx="10" fill="#3178c6"/>
  <path d="M14 20h12v6h-8v18h-6V26h2zM34 20h16v6H40v4h8v6h-8v8h-6z" fill="#fff"/>
</svg>
`;
