import { createHmac } from 'node:crypto';
import { createHeader, DELIMITER, WireCodec } from '../../dist/kernel/protocol';
import { ProtocolError } from '../../dist/errors';

const KEY = 'a-shared-secret';

function frames(codec: WireCodec, buffers: Uint8Array[] = []) {
  const header = createHeader('comm_msg', 'session-1', 'tester');
  return { header, frames: codec.encode({ identities: [Buffer.from('peer')], header, parent_header: {}, metadata: { m: 1 }, content: { comm_id: 'c', data: { x: 1 } }, buffers }) };
}

describe('wire format (messaging spec, "The Wire Protocol")', () => {
  it('signs exactly header, parent header, metadata and content, and sends buffers as raw frames after them', () => {
    const codec = new WireCodec({ key: KEY });
    const buffer = Buffer.alloc(1024, 7);
    const { frames: wire } = frames(codec, [buffer]);
    expect(wire[0]!.toString()).toBe('peer');
    expect(wire[1]!.equals(DELIMITER)).toBe(true);
    const [signature, ...rest] = wire.slice(2);
    const expected = createHmac('sha256', KEY).update(rest[0]!).update(rest[1]!).update(rest[2]!).update(rest[3]!).digest('hex');
    expect(signature!.toString()).toBe(expected);
    expect(rest).toHaveLength(5);
    expect(rest[4]!.equals(buffer)).toBe(true);
  });

  it('decodes what it encodes, keeping the routing identities and the buffers', () => {
    const codec = new WireCodec({ key: KEY });
    const { header, frames: wire } = frames(codec, [Buffer.from([1, 2, 3]), Buffer.alloc(0)]);
    const message = new WireCodec({ key: KEY }).decode(wire);
    expect(message.identities.map(String)).toEqual(['peer']);
    expect(message.header).toEqual(header);
    expect(message.content).toEqual({ comm_id: 'c', data: { x: 1 } });
    expect(message.metadata).toEqual({ m: 1 });
    expect(message.buffers.map((b) => [...b])).toEqual([[1, 2, 3], []]);
  });

  it('rejects a message signed with another key, a changed content frame, and a replayed message', () => {
    const codec = new WireCodec({ key: KEY });
    const { frames: wrongKey } = frames(new WireCodec({ key: 'another key' }));
    expect(() => codec.decode(wrongKey)).toThrow(ProtocolError);
    expect(() => codec.decode(wrongKey)).toThrow(/invalid message signature/);

    const { frames: tampered } = frames(codec);
    tampered[6] = Buffer.from(JSON.stringify({ comm_id: 'c', data: { x: 2 } }));
    expect(() => codec.decode(tampered)).toThrow(/invalid message signature/);

    const { frames: good } = frames(codec);
    expect(codec.decode(good).content).toMatchObject({ comm_id: 'c' });
    expect(() => codec.decode(good)).toThrow(/replayed/);
  });

  it('does not sign the buffers: they can be large, and the spec leaves them out', () => {
    const codec = new WireCodec({ key: KEY });
    const { frames: wire } = frames(codec, [Buffer.from('original')]);
    wire[7] = Buffer.from('different');
    expect(codec.decode(wire).buffers[0]!.toString()).toBe('different');
  });

  it('with an empty key signs nothing and checks nothing, as the spec says', () => {
    const codec = new WireCodec({ key: '' });
    const { frames: wire } = frames(codec);
    expect(wire[2]!.toString()).toBe('');
    expect(codec.decode(wire).header.msg_type).toBe('comm_msg');
  });

  it('explains malformed messages and unsupported schemes', () => {
    const codec = new WireCodec({ key: KEY });
    expect(() => codec.decode([Buffer.from('x')])).toThrow(/no <IDS\|MSG> delimiter/);
    expect(() => codec.decode([DELIMITER, Buffer.from('sig')])).toThrow(/expected at least 5/);
    expect(() => new WireCodec({ key: KEY, signatureScheme: 'hmac-nope' })).toThrow(/unsupported signature_scheme "hmac-nope"/);
    expect(new WireCodec({ key: KEY, signatureScheme: 'hmac-sha512' }).sign([Buffer.from('a')])).toHaveLength(128);
  });
});
