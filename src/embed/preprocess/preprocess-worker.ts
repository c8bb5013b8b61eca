import sharp from 'sharp';
import { messageOf } from '../../errors';
import type { ImageSource } from '../types';
import { preprocessImage } from './run-steps';
import type { PreprocessStep } from './steps';

// One libvips thread per worker: the pool already runs one worker per core it is given. No operation cache:
// every image is read once, so caching decoded files only costs memory.
sharp.concurrency(1);
sharp.cache(false);

export interface PreprocessTask {
  steps: PreprocessStep[];
  sources: ImageSource[];
  floatsPerImage: number;
}

export interface PreprocessResult {
  /** sources.length × floatsPerImage floats; a failed image's slot is left zero. */
  data: Float32Array;
  /** null where the image was preprocessed, else the reason it was not. */
  failures: (string | null)[];
}

/** Preprocesses a chunk of images in this worker thread; a bad image fails alone. */
export default async function preprocessChunk(task: PreprocessTask): Promise<PreprocessResult> {
  const data = new Float32Array(task.sources.length * task.floatsPerImage);
  const failures: (string | null)[] = [];
  for (const [index, source] of task.sources.entries()) {
    try {
      await preprocessImage(source, task.steps, data, index * task.floatsPerImage);
      failures.push(null);
    } catch (error) {
      failures.push(messageOf(error));
    }
  }
  return { data, failures };
}
