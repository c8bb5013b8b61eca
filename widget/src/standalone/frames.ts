/**
 * The session protocol on a WebSocket, client side (the server side is src/server/wire-format.ts; the two
 * are tested against each other in tests/server):
 *
 * - a message without buffers travels as a text frame: its JSON;
 * - a message with buffers travels as one binary frame:
 *   [u32 big-endian: header length n][n bytes: UTF-8 JSON {"message": …, "buffers": [byte length of each]}]
 *   [the buffers' bytes, one after the other].
 *
 * One frame per message keeps a message and its bytes together, with no state between frames.
 */
export interface Frame {
  message: unknown;
  buffers: DataView[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function decodeFrame(data: string | ArrayBuffer): Frame {
  if (typeof data === 'string') return { message: JSON.parse(data), buffers: [] };
  const view = new DataView(data);
  if (data.byteLength < 4) throw new Error(`quicksort-widget: a binary frame of ${data.byteLength} bytes is too short for its header`);
  const headerLength = view.getUint32(0);
  if (4 + headerLength > data.byteLength) throw new Error(`quicksort-widget: a binary frame's header says ${headerLength} bytes, but the frame has ${data.byteLength - 4}`);
  const header = JSON.parse(decoder.decode(new Uint8Array(data, 4, headerLength))) as { message: unknown; buffers: number[] };
  const buffers: DataView[] = [];
  let offset = 4 + headerLength;
  for (const length of header.buffers) {
    if (offset + length > data.byteLength) throw new Error('quicksort-widget: a binary frame is shorter than its buffers');
    buffers.push(new DataView(data, offset, length));
    offset += length;
  }
  return { message: header.message, buffers };
}

export function encodeFrame(message: unknown, buffers: readonly (ArrayBuffer | ArrayBufferView)[] = []): string | ArrayBuffer {
  if (buffers.length === 0) return JSON.stringify(message);
  const parts = buffers.map((buffer) => (ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer)));
  const header = encoder.encode(JSON.stringify({ message, buffers: parts.map((part) => part.byteLength) }));
  const out = new Uint8Array(4 + header.byteLength + parts.reduce((sum, part) => sum + part.byteLength, 0));
  new DataView(out.buffer).setUint32(0, header.byteLength);
  out.set(header, 4);
  let offset = 4 + header.byteLength;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out.buffer;
}
