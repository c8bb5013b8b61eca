/**
 * The standalone host of the labeling app (`quicksort serve`): HTTP for the app and the dataset's images, a
 * WebSocket per client for the session protocol, a token on everything under /api/, and only its own Host
 * and Origin names answered.
 */
export { startServer, type RunningServer, type ServeOptions } from './quicksort-server';
export { newToken, tokenMatches, withoutAnyToken, withoutToken } from './access-token';
export { connectionLimits, DEFAULT_LIMITS, MessageLimiter, TokenBucket, type ConnectionLimits } from './connection-limits';
export { readOrCreateToken } from './token-file';
export { accessRules, OriginCheck, type AccessRules } from './origin-check';
export { resolveInside, PathRefused, IMAGE_TYPES } from './safe-path';
export { encodeEnvelope, decodeFrame } from './wire-format';
export { DEFAULT_APP_DIR } from './app-assets';
