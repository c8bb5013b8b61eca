// The labeling app's CSS as a string, written into lib/labeling-app-css.js by scripts/build-extension.js.
export declare const LABELING_APP_CSS: string;
