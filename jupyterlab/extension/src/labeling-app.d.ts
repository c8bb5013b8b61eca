// The labeling app's AFM bundle, copied from widget/'s build into lib/labeling-app.js by
// scripts/build-extension.js; typed here by the AFM contract.
import type { AfmDefinition } from './afm';
declare const app: AfmDefinition | (() => AfmDefinition | Promise<AfmDefinition>);
export default app;
