import type { LabelStore } from '../store';

/**
 * The hook through which `coco` exports of datasets imported from COCO go to the COCO bridge (src/coco),
 * which rewrites the original file with the corrections and keeps every original id. The export module
 * does not import the bridge (it is its own module, with its own release pace); whoever composes the
 * application registers it once, and `exportCoco` from src/coco fits this type as it is:
 *
 * @example
 * import { exportCoco } from './coco';
 * import { registerCocoBridge } from './export';
 * registerCocoBridge(exportCoco);
 */
export type CocoBridge = (
  store: LabelStore,
  options: { output: string; force?: boolean; signal?: AbortSignal; onProgress?: (bytesDone: number, totalBytes: number) => void },
) => Promise<{ records: number; bytes: number }>;

/**
 * The store `meta` key under which a COCO import records its source file (src/coco/link.ts,
 * `LINK_META_KEY`; a test checks that the two agree). Its presence is what makes a dataset "imported from COCO".
 */
export const COCO_LINK_META_KEY = 'coco.link';

let registered: CocoBridge | undefined;

/** Registers (or, with undefined, removes) the bridge that exports datasets imported from COCO. */
export function registerCocoBridge(bridge: CocoBridge | undefined): void {
  registered = bridge;
}

export function registeredCocoBridge(): CocoBridge | undefined {
  return registered;
}

/** Whether the dataset was imported from a COCO file (and so exports through the bridge). */
export function isCocoDataset(store: LabelStore): boolean {
  return store.getMeta(COCO_LINK_META_KEY) !== undefined;
}
