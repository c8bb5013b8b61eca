import { existsSync } from 'node:fs';
import path from 'node:path';
import { Dataset, STATE_FOLDER, type OpenOptions } from '../dataset';
import { DatasetError } from '../errors';
import { STORE_FILE_NAME } from '../store';

/** The flags every command that works on an ingested dataset takes. */
export interface StoreFlags {
  dataset: string;
  store?: string;
  user?: string;
}

/**
 * Refuses a folder that has never been ingested, saying what to run (opening would create an empty store and
 * report "0 items" instead). A missing folder is left for `Dataset.open`, which names it. `firstStep` says what
 * makes the store: ingesting the folder, unless the command works on another kind of dataset.
 */
export function requireStore(flags: StoreFlags, firstStep = `run \`npx quicksort ingest --dataset ${flags.dataset}\` first`): void {
  const storeFile = flags.store ?? path.join(flags.dataset, STATE_FOLDER, STORE_FILE_NAME);
  if (existsSync(flags.dataset) && !existsSync(storeFile)) {
    throw new DatasetError(`${flags.dataset} has no QuickSort store yet (${storeFile}); ${firstStep}`);
  }
}

/** Opens an ingested dataset for a command (see {@link requireStore}). */
export function openExisting(flags: StoreFlags, options: Omit<OpenOptions, 'store' | 'user'> = {}): Promise<Dataset> {
  requireStore(flags);
  return Dataset.open(flags.dataset, { ...options, store: flags.store, user: flags.user });
}
