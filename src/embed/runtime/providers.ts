import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, messageOf } from '../../errors';
import type { ProviderFallback } from '../types';

/** Execution providers the engine knows how to ask onnxruntime-node for. */
export type ExecutionProvider = 'cuda' | 'tensorrt' | 'webgpu' | 'dml' | 'coreml' | 'cpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cuda', 'tensorrt', 'webgpu', 'dml', 'coreml', 'cpu'];

/** The default order: a GPU when there is one, the CPU always. */
export const DEFAULT_PROVIDERS: readonly ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

/**
 * Checks a provider list (from options, `--providers` or `$QUICKSORT_PROVIDERS`). The CPU provider is added
 * last when missing, so there is always something to fall back to.
 *
 * @example
 * parseProviders('cuda,cpu'); // ['cuda', 'cpu']
 */
export function parseProviders(value: string | readonly string[] | undefined): ExecutionProvider[] {
  const list = value === undefined ? [...DEFAULT_PROVIDERS] : typeof value === 'string' ? value.split(',').map((p) => p.trim()).filter(Boolean) : [...value];
  if (list.length === 0) throw new InvalidArgumentError(`the list of execution providers is empty; give some of ${EXECUTION_PROVIDERS.join(', ')}`);
  for (const provider of list) {
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(provider)) {
      throw new InvalidArgumentError(`unknown execution provider ${JSON.stringify(provider)}; known: ${EXECUTION_PROVIDERS.join(', ')}`);
    }
  }
  const unique = [...new Set(list)] as ExecutionProvider[];
  if (!unique.includes('cpu')) unique.push('cpu');
  return unique;
}

/**
 * A reason a provider certainly cannot work here, found without asking onnxruntime (whose failed attempts
 * print native noise on stderr): the CUDA provider library missing from the package, or no Vulkan loader
 * for WebGPU on Linux. Undefined: worth a try.
 */
export function precheckProvider(provider: ExecutionProvider): string | undefined {
  if (provider === 'cuda' || provider === 'tensorrt') {
    const library = process.platform === 'win32' ? `onnxruntime_providers_${provider}.dll` : `libonnxruntime_providers_${provider}.so`;
    const folders = runtimeBinaryFolders();
    if (process.platform === 'linux' && folders.length && !folders.some((folder) => existsSync(path.join(folder, library)))) {
      return explainProviderFailure(provider, new Error(`Failed to load shared library ${library}: not found in ${folders.join(', ')}`));
    }
  }
  if (provider === 'webgpu' && process.platform === 'linux' && !hasVulkanLoader()) {
    return 'no Vulkan loader (libvulkan.so.1) is installed, which WebGPU needs on Linux: install the GPU driver and the Vulkan loader (Debian: libvulkan1)';
  }
  return undefined;
}

/**
 * Whether this machine shows any GPU device to processes (Linux: an NVIDIA device node or a DRM render node).
 * Elsewhere it cannot tell cheaply and answers true.
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

function runtimeBinaryFolders(): string[] {
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    return readdirSync(bin)
      .filter((napi) => napi.startsWith('napi-'))
      .map((napi) => path.join(bin, napi, process.platform, process.arch))
      .filter((folder) => existsSync(folder));
  } catch {
    return [];
  }
}

function hasVulkanLoader(): boolean {
  const name = 'libvulkan.so.1';
  const folders = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (folders.some((folder) => existsSync(path.join(folder, name)))) return true;
  try {
    // The dynamic linker's cache lists every library it can find by name.
    return readFileSync('/etc/ld.so.cache').includes(name);
  } catch {
    // No cache to read: let onnxruntime try.
    return true;
  }
}

/** Why a provider could not be used, in words a user can act on (onnxruntime's own message kept at the end). */
export function explainProviderFailure(provider: ExecutionProvider, error: unknown): string {
  const message = firstLine(messageOf(error));
  if ((provider === 'cuda' || provider === 'tensorrt') && /Failed to load (shared )?library/i.test(message)) {
    return (
      `the ${provider === 'cuda' ? 'CUDA' : 'TensorRT'} provider libraries of onnxruntime-node are not installed (they are downloaded at ` +
      `install time, which package.json's allowScripts switches off for offline installs); on a machine with an NVIDIA GPU ` +
      `and CUDA 12, run \`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js\` in the project (${message})`
    );
  }
  if (provider === 'webgpu' && /adapter/i.test(message)) {
    return `no WebGPU adapter was found (no GPU, or no Vulkan driver: libvulkan.so.1) (${message})`;
  }
  if (/backend not found|not supported|no available backend/i.test(message)) {
    return `onnxruntime-node on ${process.platform}-${process.arch} has no ${provider} provider (${message})`;
  }
  return message;
}

/** How a fallback is said to the user: the provider passed over, the one that runs instead, and why. */
export function describeFallback(fallback: ProviderFallback, used: string): string {
  return `execution provider ${fallback.provider} is not available, running on ${used}: ${fallback.reason}`;
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.replace(/^\S*onnxruntime_src\S*\s*/, '').trim();
}
