/**
 * The COCO bridge: stream COCO files of any size, cut the boxes into crops to verify, export the file
 * with the corrections. Formats convert through the neutral {@link CocoObject} with `fromCoco`/`toCoco`.
 */
export { importCoco, IMPORT_USER, type CocoImportOptions, type CocoImportProgress, type CocoImportReport, type CocoWarning } from './import';
export { exportCoco, collectCorrections, REJECTED_KEY, type CocoCorrection, type CocoExportOptions, type CocoExportReport } from './export';
export { readCocoFile, CocoFileReader, CocoRecord, type CocoReadOptions } from './coco-reader';
export { JsonScanner, ScannedFields, ScannedSpans, UnreadableValue, type ScanHandler, type ScannerOptions } from './json-scanner';
export { fromCoco, toCoco, imageFromCoco, imageToCoco, categoryFromCoco, categoryToCoco, categoryToWire, categoryFromWire, readBox } from './convert';
export { chooseConvention, type CategoryEvidence, type ConventionChoice } from './conventions';
export { planCrop, resolveCropOptions, type CropOptions, type CropPlan, type CropRegion } from './crop-geometry';
export type { CropFormat } from './crop-worker';
export { readLink, type CocoLink } from './link';
export { COCO_CATEGORIES } from './coco-categories';
export * from './types';
