import type { FileHandle } from 'node:fs/promises';

/**
 * Appends chunks to a file with as few system calls as writev allows, and returns the bytes written.
 *
 * @example
 * await writeChunks(file, [header, body]);
 */
export async function writeChunks(file: FileHandle, chunks: readonly Uint8Array[]): Promise<number> {
  let bytes = 0;
  // writev takes at most IOV_MAX (1024) buffers per call.
  for (let start = 0; start < chunks.length; start += 1024) {
    const slice = chunks.slice(start, start + 1024);
    const expected = slice.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const written = (await file.writev(slice)).bytesWritten;
    // A short writev (rare on a regular file) goes on with the rest.
    if (written < expected) {
      const rest = Buffer.concat(slice).subarray(written);
      for (let offset = 0; offset < rest.length; ) offset += (await file.write(rest, offset)).bytesWritten;
    }
    bytes += expected;
  }
  return bytes;
}
