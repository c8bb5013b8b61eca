import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LabelStore } from '../../src/store';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES } from '../helpers/fixtures';

export { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES };
export const FIXTURES = path.join(__dirname, 'fixtures');
/** Real COCO val2014 ground truth for 100 images (839 annotations; annotations before images in the file). */
export const VAL2014_GT = path.join(FIXTURES, 'instances_val2014_100.json');
/** Real detections in COCO results format for the same images (734, with scores). */
export const VAL2014_RESULTS = path.join(FIXTURES, 'instances_val2014_fakebbox100_results.json');

export interface SampleAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  iscrowd: number;
  [key: string]: unknown;
}

export interface SampleFile {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: SampleAnnotation[];
  categories: { id: number; name: string }[];
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function sample(): SampleFile {
  return readJson<SampleFile>(SAMPLE_ANNOTATIONS);
}

/** Deterministic scores in [0, 1) with three decimals. */
export function scoreOf(index: number): number {
  return ((index * 7919 + 104729) % 1000) / 1000;
}

/** Detections in COCO results format for the sample images: its ground-truth boxes with made-up scores. */
export function sampleDetections(): { image_id: number; category_id: number; bbox: number[]; score: number }[] {
  return sample().annotations.map((annotation, index) => ({
    image_id: annotation.image_id,
    category_id: annotation.category_id,
    bbox: annotation.bbox,
    score: scoreOf(index),
  }));
}

/** A store in `dir/.quicksort`, as a dataset of crops in `dir` has. */
export function storeIn(dir: string): LabelStore {
  mkdirSync(path.join(dir, '.quicksort'), { recursive: true });
  return LabelStore.open(path.join(dir, '.quicksort', 'quicksort.db'), { durability: 'normal' });
}
