/**
 * Installing the kernel into Jupyter: the kernelspec "TypeScript (QuickSort)" and, once the widget build
 * provides it, the prebuilt JupyterLab extension. `quicksort jupyter install|uninstall|status` is a thin
 * command over these functions.
 *
 * @example
 * install({ scope: { kind: 'prefix', prefix: '/opt/jupyter' } });
 * status().active?.dir; // /opt/jupyter/share/jupyter/kernels/quicksort, if JUPYTER_PATH includes it
 * uninstall({ scope: { kind: 'prefix', prefix: '/opt/jupyter' } });
 */
export { install, uninstall, status, INSTALL_RECORD, type InstallOptions, type InstallReport, type UninstallReport, type StatusReport, type KernelSpecStatus } from './installer';
export { KERNEL_NAME, DISPLAY_NAME, kernelSpec, type KernelSpec } from './kernelspec';
export { LAB_EXTENSION_BUILD, checkLabEnvironment, findLabExtension, type FoundPackage, type LabCheck, type LabEnvironment, type LabExtension } from './lab-extension';
export { dataDirFor, dataSearchPath, sysPrefix, userDataDir, currentEnvironment, type InstallScope, type JupyterEnvironment, type PathOrigin } from './jupyter-paths';
