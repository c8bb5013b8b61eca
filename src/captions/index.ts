/**
 * Captions imported from files (issue 15): COCO captions files matched to images by file name, and
 * `uri,caption` rows as CSV or JSON Lines, written to the store as `add_caption` events in one undoable batch.
 *
 * @example
 * import { importCaptions } from './captions';
 * const report = await importCaptions(ds, { file: 'annotations/captions_train2017.json' });
 */
export { importCaptions, type CaptionImportTarget, type CaptionImportOptions, type CaptionImportReport } from './import-captions';
export { CAPTION_FILE_FORMATS, formatOfFile, type CaptionFileFormat } from './caption-readers';
export { CaptionFileError, type CaptionProblem } from './caption-file-error';
