/**
 * The standalone host of the labeling app (`quicksort serve`): HTTP for the app and the dataset's images, a
 * WebSocket per client for the session protocol, a token on everything under /api/.
 */
export { startServer, type RunningServer, type ServeOptions } from './quicksort-server';
export { newToken, tokenMatches } from './access-token';
export { resolveInside, PathRefused, IMAGE_TYPES } from './safe-path';
export { encodeEnvelope, decodeFrame } from './wire-format';
export { DEFAULT_APP_DIR } from './app-assets';
