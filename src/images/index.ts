/** Images on disk: walking a folder, probing and checking files, and ingesting them into the store. */
export { ingestFolder, type IngestOptions, type IngestProgress, type IngestReport } from './ingest';
export { probeImage, type ProbeOptions, type ProbeResult, type ImageInfo, type VerifyMode } from './probe';
export { walkImages, type WalkEntry } from './walk';
export { IMAGE_EXTENSIONS, DEFAULT_MAX_PIXELS } from './formats';
