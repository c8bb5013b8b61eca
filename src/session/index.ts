/** Labeling sessions: the transport-agnostic protocol the widget and the web app speak, and its engine side. */
export { SessionHost, defaultKey, type SessionHostOptions } from './session-host';
export type { SessionSource, TaskProgress } from './session-source';
export { LabelingSession, type SessionOptions } from './labeling-session';
export { DEFAULT_TRAIN_EVERY_CAPTIONS, DEFAULT_TRAIN_IDLE_MS, type TextLoopOptions } from './text-loop';
export { VlmLoop, type VlmLoopOptions } from './vlm-loop';
export { parseClientMessage } from './validate';
export { ThumbnailCache, thumbnailCachePath, DISK_THUMBNAIL_MAX } from './thumbnail-cache';
export { fillThumbnails, type FillThumbnailsOptions, type FillThumbnailsReport } from './fill-thumbnails';
export * from './protocol';
