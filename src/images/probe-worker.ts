import sharp from 'sharp';
import { probeImage, type ProbeOptions, type ProbeResult } from './probe';

// One libvips thread per worker: the pool already runs one worker per core.
sharp.concurrency(1);

export interface ProbeTask {
  files: string[];
  options: ProbeOptions;
}

/** Probes a batch of files in this worker thread. */
export default async function probeBatch(task: ProbeTask): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const file of task.files) results.push(await probeImage(file, task.options));
  return results;
}
