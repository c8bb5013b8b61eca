/**
 * The standalone host of the labeling app (`quicksort serve`): HTTP for the app and the dataset's images, a
 * WebSocket per client for the session protocol, a token on everything under /api/, and only its own Host
 * and Origin names answered.
 */
export { startServer, type RunningServer, type ServeOptions } from './quicksort-server';
export { newToken, tokenMatches, withoutToken } from './access-token';
export { readOrCreateToken } from './token-file';
export { accessRules, OriginCheck, type AccessRules } from './origin-check';
export { resolveInside, PathRefused, IMAGE_TYPES } from './safe-path';
export { encodeEnvelope, decodeFrame } from './wire-format';
export { DEFAULT_APP_DIR } from './app-assets';
