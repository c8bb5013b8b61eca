import { messageOf } from '../errors';
import type { Envelope } from '../session';

/**
 * The session protocol on a WebSocket, server side (the page's side is widget/src/standalone/frames.ts):
 *
 * - a message without buffers is a text frame holding its JSON;
 * - a message with buffers (an image) is one binary frame:
 *   [u32 big-endian: header length n][n bytes: UTF-8 JSON {"message": …, "buffers": [byte length of each]}]
 *   [the buffers' bytes, one after the other].
 *
 * One frame per message keeps a message and its bytes together: nothing to pair up across frames, so a
 * dropped or reordered frame can never attach bytes to the wrong message.
 */
export function encodeEnvelope<M>(envelope: Envelope<M>): { data: string | Buffer; binary: boolean } {
  const buffers = envelope.buffers ?? [];
  if (buffers.length === 0) return { data: JSON.stringify(envelope.message), binary: false };
  const header = Buffer.from(JSON.stringify({ message: envelope.message, buffers: buffers.map((buffer) => buffer.byteLength) }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.byteLength);
  return { data: Buffer.concat([length, header, ...buffers]), binary: true };
}

/** Reads one frame from the page; throws a plain Error saying what is wrong with it. */
export function decodeFrame(data: Buffer, binary: boolean): Envelope<unknown> {
  if (!binary) return { message: JSON.parse(data.toString('utf8')) };
  if (data.byteLength < 4) throw new Error(`a binary frame of ${data.byteLength} bytes is too short for its header`);
  const headerLength = data.readUInt32BE(0);
  if (4 + headerLength > data.byteLength) throw new Error(`a binary frame's header says ${headerLength} bytes, but the frame has ${data.byteLength - 4}`);
  const header = JSON.parse(data.subarray(4, 4 + headerLength).toString('utf8')) as { message?: unknown; buffers?: unknown };
  if (!Array.isArray(header.buffers) || !header.buffers.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new Error('a binary frame header needs "buffers": [byte lengths]');
  const buffers: Uint8Array[] = [];
  let offset = 4 + headerLength;
  for (const length of header.buffers as number[]) {
    if (offset + length > data.byteLength) throw new Error('a binary frame is shorter than its buffers');
    buffers.push(new Uint8Array(data.buffer, data.byteOffset + offset, length));
    offset += length;
  }
  return { message: header.message, buffers };
}

/** A message's bytes as one Buffer, however ws delivered them. */
export function frameBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A page's message, or what is wrong with its frame: the session refuses that (code protocol) with the reason. */
export function readMessage(data: Buffer, binary: boolean): unknown {
  try {
    return decodeFrame(data, binary).message;
  } catch (error) {
    return `unreadable frame: ${messageOf(error)}`;
  }
}
