import { createHmac, getHashes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from '../engine';
import { PROTOCOL_VERSION, type JupyterMessage, type MessageHeader, type ParentHeader } from './messages';

/**
 * The wire format of Jupyter messages (messaging spec, "The Wire Protocol"):
 *
 *   [routing identities…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…]
 *
 * The signature is an HMAC (scheme from the connection file, hmac-sha256 by default) over exactly the four
 * JSON frames header, parent_header, metadata and content — as they are on the wire, never re-serialised —
 * and never over the binary buffers, which follow as raw frames.
 */
// Typed as plain Buffer: an inferred Buffer<ArrayBuffer> would be emitted into the .d.ts, which TypeScript 5.0
// (tslab's, compiling cells) cannot read.
export const DELIMITER: Buffer = Buffer.from('<IDS|MSG>');

/** How many signatures to remember to refuse replayed messages (jupyter_client's digest_history_size). */
const SIGNATURE_HISTORY = 1 << 16;

export interface CodecOptions {
  /** The shared key from the connection file; empty disables signing (spec: "authentication is disabled"). */
  key: string;
  /** `hmac-sha256` unless the connection file says otherwise. */
  signatureScheme?: string;
}

/** Signs, verifies, encodes and decodes messages for one kernel connection. */
export class WireCodec {
  private readonly key: Buffer;
  private readonly algorithm: string;
  private readonly seen = new Set<string>();

  constructor(options: CodecOptions) {
    this.key = Buffer.from(options.key, 'utf8');
    const scheme = options.signatureScheme ?? 'hmac-sha256';
    const match = /^hmac-(.+)$/.exec(scheme);
    const algorithm = match?.[1];
    if (!algorithm || !getHashes().includes(algorithm)) {
      throw new ProtocolError(
        `quicksort kernel: unsupported signature_scheme ${JSON.stringify(scheme)} in the connection file; expected hmac-<hash> with a hash Node supports, such as hmac-sha256`,
      );
    }
    this.algorithm = algorithm;
  }

  /** The hex signature of the four JSON frames; "" when signing is disabled. */
  sign(frames: readonly Buffer[]): string {
    if (this.key.length === 0) return '';
    const hmac = createHmac(this.algorithm, this.key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest('hex');
  }

  /**
   * Decodes and verifies a message received on a ROUTER (shell, control, stdin) or SUB socket.
   * @throws ProtocolError when the frames are malformed, the signature is wrong, or the message is a replay.
   */
  decode(frames: readonly Buffer[]): JupyterMessage {
    const delimiter = frames.findIndex((frame) => frame.equals(DELIMITER));
    if (delimiter < 0) throw new ProtocolError('quicksort kernel: message has no <IDS|MSG> delimiter; is the peer a Jupyter client?');
    if (frames.length < delimiter + 6) {
      throw new ProtocolError(`quicksort kernel: message has ${frames.length - delimiter - 1} frames after the delimiter; expected at least 5 (signature, header, parent_header, metadata, content)`);
    }
    const signature = frames[delimiter + 1]!.toString('ascii');
    const signed = frames.slice(delimiter + 2, delimiter + 6);
    if (this.key.length > 0) {
      const expected = Buffer.from(this.sign(signed), 'ascii');
      const actual = Buffer.from(signature, 'ascii');
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        throw new ProtocolError(`quicksort kernel: invalid message signature ${JSON.stringify(signature.slice(0, 16))}…; the sender does not hold this kernel's key`);
      }
      if (this.seen.has(signature)) throw new ProtocolError('quicksort kernel: duplicate message signature (a replayed message); ignored');
      if (this.seen.size >= SIGNATURE_HISTORY) this.seen.clear();
      this.seen.add(signature);
    }
    const [header, parent, metadata, content] = signed.map((frame, index) => parseJsonFrame(frame, FRAME_NAMES[index]!));
    if (!isHeader(header)) throw new ProtocolError('quicksort kernel: message header lacks msg_id or msg_type');
    return {
      identities: frames.slice(0, delimiter),
      header,
      parent_header: (parent ?? {}) as ParentHeader,
      metadata: (metadata ?? {}) as Record<string, unknown>,
      content: (content ?? {}) as Record<string, unknown>,
      buffers: frames.slice(delimiter + 6),
    };
  }

  /** Encodes a message; identities are the routing prefix (ROUTER) or the topic (PUB). */
  encode(message: Omit<JupyterMessage<unknown>, 'buffers'> & { buffers?: readonly Uint8Array[] }): Buffer[] {
    const json = [message.header, message.parent_header, message.metadata, message.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
    const buffers = (message.buffers ?? []).map((buffer) => (Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)));
    return [...message.identities, DELIMITER, Buffer.from(this.sign(json), 'ascii'), ...json, ...buffers];
  }
}

const FRAME_NAMES = ['header', 'parent_header', 'metadata', 'content'] as const;

function parseJsonFrame(frame: Buffer, name: string): unknown {
  try {
    return JSON.parse(frame.toString('utf8'));
  } catch (cause) {
    throw new ProtocolError(`quicksort kernel: the ${name} frame is not JSON`, { cause });
  }
}

function isHeader(value: unknown): value is MessageHeader {
  const header = value as Partial<MessageHeader> | null;
  return typeof header === 'object' && header !== null && typeof header.msg_id === 'string' && typeof header.msg_type === 'string';
}

/** A fresh header for a message of this session. */
export function createHeader(msgType: string, session: string, username = 'kernel'): MessageHeader {
  return { msg_id: randomUUID(), session, username, date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION };
}
