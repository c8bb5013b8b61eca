/** File endings ingest looks at, lower-case, and the sharp format names they may hold. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

/** Formats ingest accepts, as sharp names them. */
export const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

/**
 * sharp's default pixel limit (0x3FFF × 0x3FFF): larger images are refused from their header alone, so a
 * file declaring 100,000 × 100,000 pixels never reaches the decoder.
 */
export const DEFAULT_MAX_PIXELS = 268_402_689;

/** Largest file ingest reads whole into memory. */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;
