/**
 * The Jupyter messaging protocol: message types, the signed wire format and connection files. Shared by
 * the kernel host and the test/benchmark client.
 *
 * @example
 * const codec = new WireCodec({ key: info.key, signatureScheme: info.signature_scheme });
 * const message = codec.decode(frames); // throws ProtocolError on a bad signature
 */
export * from './messages';
export { WireCodec, DELIMITER, createHeader, type CodecOptions } from './wire';
export { readConnectionFile, endpoint, type ConnectionInfo } from './connection';
