import { exportCoco } from '../coco';
import { COCO_LINK_META_KEY } from '../store';
import type { SourceRewriter } from './types';

/**
 * `coco` exports of datasets imported from COCO: the COCO bridge (src/coco) rewrites the original file with
 * the corrections, keeping every original id, where a fresh file would renumber them all. A dataset is
 * "imported from COCO" once its store holds the import's link (src/coco/link.ts).
 */
export const cocoBridgeRewriter: SourceRewriter = {
  applies: (source) => source.store.getMeta(COCO_LINK_META_KEY) !== undefined,
  rewrite: (source, options) =>
    exportCoco(source.store, {
      root: source.root,
      output: options.output,
      // The output is the export's own temporary file, which exists: --force was checked on the final path.
      force: true,
      signal: options.signal,
      onProgress: options.onProgress,
    }),
};
