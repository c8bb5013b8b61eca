import { ProtocolError } from '../engine';
import type { BufferPath, SerializedState } from '../comms';

/**
 * Binary values in widget state (widget protocol 2, "Instantiating a widget"): any value anywhere in the
 * state may be binary. On the wire it travels as a raw buffer frame, and `buffer_paths` says where it
 * belongs: a value in a list is replaced by null, a value under an object key is removed.
 */

/** Whether a value travels as a binary buffer. */
export function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function toBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Splits a state into JSON and buffers without touching the input.
 *
 * @example
 * removeBuffers({ a: 1, img: new Uint8Array([1]), list: [2, new Uint8Array([3])] })
 * // → { state: { a: 1, list: [2, null] }, bufferPaths: [['img'], ['list', 1]], buffers: [<01>, <03>] }
 */
export function removeBuffers(state: Record<string, unknown>): SerializedState {
  const bufferPaths: BufferPath[] = [];
  const buffers: Uint8Array[] = [];
  const walk = (value: unknown, path: BufferPath): unknown => {
    if (Array.isArray(value)) {
      return value.map((item, index) => {
        if (isBinary(item)) {
          bufferPaths.push([...path, index]);
          buffers.push(toBytes(item));
          return null;
        }
        return walk(item, [...path, index]);
      });
    }
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (isBinary(item)) {
          bufferPaths.push([...path, key]);
          buffers.push(toBytes(item));
        } else {
          out[key] = walk(item, [...path, key]);
        }
      }
      return out;
    }
    return value;
  };
  return { state: walk(state, []) as Record<string, unknown>, bufferPaths, buffers };
}

/**
 * Puts received buffers back where `bufferPaths` says, in place, and returns the state. Buffers arrive as
 * `Uint8Array`s (Node Buffers).
 * @throws ProtocolError when paths and buffers do not match or a path leads nowhere.
 */
export function putBuffers(state: Record<string, unknown>, bufferPaths: unknown, buffers: readonly Uint8Array[]): Record<string, unknown> {
  if (bufferPaths === undefined || bufferPaths === null) {
    if (buffers.length > 0) throw new ProtocolError(`quicksort kernel: a widget message carries ${buffers.length} buffers but no buffer_paths`);
    return state;
  }
  if (!Array.isArray(bufferPaths) || bufferPaths.length !== buffers.length) {
    throw new ProtocolError(
      `quicksort kernel: a widget message has ${Array.isArray(bufferPaths) ? bufferPaths.length : 'no list of'} buffer_paths for ${buffers.length} buffers; they must pair one to one`,
    );
  }
  bufferPaths.forEach((path, index) => {
    if (!Array.isArray(path) || path.length === 0 || !path.every((part) => typeof part === 'string' || typeof part === 'number')) {
      throw new ProtocolError(`quicksort kernel: buffer path ${JSON.stringify(path)} is not a non-empty list of keys and indices`);
    }
    let target: unknown = state;
    for (const part of path.slice(0, -1)) {
      target = (target as Record<string | number, unknown> | null)?.[part];
      if (typeof target !== 'object' || target === null) throw new ProtocolError(`quicksort kernel: buffer path ${JSON.stringify(path)} leads nowhere in the state`);
    }
    (target as Record<string | number, unknown>)[path[path.length - 1] as string | number] = buffers[index];
  });
  return state;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
