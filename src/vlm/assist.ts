import { draftCaptions, type CaptionOptions, type CaptionReport } from './captions';
import { createVlmClient } from './client';
import { resolveVlmConfig } from './config';
import { vlmStats, type VlmDataset } from './dataset-run';
import { suggestWithVlm, type SuggestOptions, type SuggestReport } from './suggest';
import type { VlmClient, VlmConfig } from './types';
import type { VlmStats } from './vlm-cache';
import { verifyClusterWithVlm, type VerifyOptions, type VerifyReport } from './verify';

/**
 * Which server to ask: a client made already, or settings over those of the environment
 * (QUICKSORT_VLM_URL, …) and the dataset's `.quicksort/vlm.json`.
 */
export interface ServerChoice extends Partial<VlmConfig> {
  client?: VlmClient;
}

export type SuggestCall = Omit<SuggestOptions, 'client'> & ServerChoice;
export type CaptionCall = Omit<CaptionOptions, 'client'> & ServerChoice;
export type VerifyCall = Omit<VerifyOptions, 'client'> & ServerChoice;

/** The VLM assist of one dataset, as notebooks use it: `ds.vlm.suggest(…)`, `ds.vlm.caption(…)`, `ds.vlm.verify({ label })`, `ds.vlm.stats()`. */
export interface VlmAssist {
  suggest(options?: SuggestCall): Promise<SuggestReport>;
  caption(options?: CaptionCall): Promise<CaptionReport>;
  /** Cluster verification: which of a sample of the items the head predicts as `label` are not of it. */
  verify(options: VerifyCall): Promise<VerifyReport>;
  stats(): VlmStats;
}

/**
 * @example
 * const vlm = vlmAssist(ds);
 * const report = await vlm.suggest({ items: 'hard', limit: 20, url: 'http://127.0.0.1:8080/v1', model: 'qwen2.5-vl' });
 */
export function vlmAssist(dataset: VlmDataset): VlmAssist {
  return {
    suggest: (options = {}) => withClient(dataset.root, options, (client) => suggestWithVlm(dataset, { ...options, client })),
    caption: (options = {}) => withClient(dataset.root, options, (client) => draftCaptions(dataset, { ...options, client })),
    verify: (options) => withClient(dataset.root, options, (client) => verifyClusterWithVlm(dataset, { ...options, client })),
    stats: () => vlmStats(dataset),
  };
}

/** Runs `work` with the client chosen; one made here is closed after it. */
export async function withClient<T>(root: string, choice: ServerChoice, work: (client: VlmClient) => Promise<T>): Promise<T> {
  if (choice.client) return work(choice.client);
  const overrides = serverSettings(choice);
  const client = createVlmClient(resolveVlmConfig({ root, env: process.env, overrides }));
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

const SERVER_KEYS = ['url', 'model', 'apiKey', 'dialect', 'layout', 'timeoutMs', 'retries', 'concurrency', 'maxImageSide'] as const;

/** The server settings of a call's options (the rest are the run's). */
function serverSettings(choice: ServerChoice): Partial<VlmConfig> {
  const settings: Partial<VlmConfig> = {};
  for (const key of SERVER_KEYS) if (choice[key] !== undefined) (settings as Record<string, unknown>)[key] = choice[key];
  return settings;
}
