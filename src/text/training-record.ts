import { readFileSync } from 'node:fs';
import { ModelError } from '../errors';

/** What a training run leaves beside the model: which image model its joint space belongs to, and its curve. */
export const TEXT_TRAINING_FILE = 'training.json';

export interface TrainingRecord {
  imageModel: string;
  captions: number;
  images: number;
  losses: number[];
  trainedAt: string;
}

/** The training record in `file`; a typed error naming the file when it is unreadable or lacks its image model. */
export function readTrainingRecord(file: string): TrainingRecord {
  let record: unknown;
  try {
    record = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelError(`cannot read ${file} (the text model's training record): ${(error as Error).message}; train again (quicksort text train)`, { cause: error });
  }
  const imageModel = (record as Partial<TrainingRecord> | null)?.imageModel;
  if (typeof imageModel !== 'string' || imageModel === '') {
    throw new ModelError(`${file} has no "imageModel" (the embedding model the text model was trained on); train again (quicksort text train)`);
  }
  return record as TrainingRecord;
}
