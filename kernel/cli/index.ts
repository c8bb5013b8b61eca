/** The `quicksort` command line, with the kernel's `jupyter install|uninstall|status`. */
export { main } from './quicksort';
export { registerJupyterCommand } from './jupyter-command';
