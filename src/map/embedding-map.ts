import { embeddedItemIds, loadEmbeddings } from '../embed';
import { DatasetError, NotFoundError } from '../errors';
import type { LabelStore } from '../store';
import type { LayoutPhase } from './layout';
import { classCounts, mapSvg, type ClassCount, type MapPoint, type MapSvgOptions } from './map-svg';
import { projectEmbeddings, type ProjectOptions } from './project';
import { stratifiedSample } from './sample';

/** Points laid out by default: UMAP on 20k points takes about a minute on two cores; the map reads the same. */
export const DEFAULT_MAP_SAMPLE = 20_000;

export interface MapOptions extends Omit<ProjectOptions, 'onProgress'> {
  /** At most this many items are laid out, stratified by class so every class appears (default 20,000). */
  sample?: number;
  /** Seeds the sample and the layout (default 1): the same seed gives the same map. */
  seed?: number;
  /** The embedding model id or name, by default the most recently used (see `loadEmbeddings`). */
  model?: string;
  /** How the SVG is drawn (title, size, points or density bins). */
  svg?: MapSvgOptions;
  onProgress?: (progress: MapProgress) => void;
}

export interface MapProgress {
  phase: 'load' | LayoutPhase;
  done: number;
  total: number;
}

/** One item on the map. */
export interface MapItem extends MapPoint {
  id: number;
}

/**
 * A 2-D map of a dataset's embeddings: each sampled item's coordinates with its label, the classes with their
 * counts, and the drawing. In a notebook on the QuickSort kernel it shows as the SVG.
 */
export class EmbeddingMap {
  readonly classes: ClassCount[];
  private drawn: string | undefined;

  constructor(
    readonly points: MapItem[],
    readonly modelId: string,
    /** Items with embeddings the sample was drawn from. */
    readonly total: number,
    /** Items left out of the layout, with the reason. */
    readonly skipped: { id: number; reason: string }[],
    private readonly svgOptions: MapSvgOptions = {},
  ) {
    this.classes = classCounts(points);
  }

  /** The map as standalone SVG (drawn once, then kept). */
  get svg(): string {
    return (this.drawn ??= this.toSvg(this.svgOptions));
  }

  /** The map drawn with other options (size, points or bins). */
  toSvg(options: MapSvgOptions = {}): string {
    return mapSvg(this.points, {
      title: `Embedding map: ${this.points.length.toLocaleString('en-US')} of ${this.total.toLocaleString('en-US')} items`,
      subtitle: `${this.modelId}${this.points.length < this.total ? ', stratified sample' : ''}`,
      ...options,
    });
  }

  /** What `JSON.stringify` and `--json` give: the coordinates and counts, without the SVG. */
  toJSON(): { modelId: string; total: number; sampled: number; skipped: { id: number; reason: string }[]; classes: ClassCount[]; points: MapItem[] } {
    return { modelId: this.modelId, total: this.total, sampled: this.points.length, skipped: this.skipped, classes: this.classes, points: this.points };
  }

  /** The notebook's rich output (Jupyter's display convention, as the kernel's `display` reads it). */
  [Symbol.for('Jupyter.display')](): Record<string, string> {
    return { 'image/svg+xml': this.svg, 'text/plain': `EmbeddingMap: ${this.points.length} of ${this.total} items, ${this.classes.length} classes (${this.modelId})` };
  }
}

/**
 * Maps a dataset's embeddings to 2-D: draws a stratified sample of the items with vectors, loads only the
 * sample's vectors, and lays them out (UMAP after PCA, in a worker thread), each point with its item's label.
 *
 * @throws DatasetError when the dataset has no embeddings yet, or too few usable ones.
 *
 * @example
 * const map = await mapDataset(ds.store, ds.root, { sample: 5000, seed: 1 });
 * writeFileSync('map.svg', map.svg);
 */
export async function mapDataset(store: LabelStore, root: string, options: MapOptions = {}): Promise<EmbeddingMap> {
  const seed = options.seed ?? 1;
  options.onProgress?.({ phase: 'load', done: 0, total: 1 });
  let population: { modelId: string; ids: number[] };
  try {
    population = embeddedItemIds(root, { store, model: options.model });
  } catch (error) {
    if (error instanceof NotFoundError && options.model === undefined) {
      throw new DatasetError(`${root} has no embeddings yet; run \`npx quicksort embed --dataset ${root}\` (or ds.embed()) first`, { cause: error });
    }
    throw error;
  }
  const labels = new Map<number, { label: string; source: MapPoint['source'] }>();
  for (const item of store.iterateItems({ labeled: true })) labels.set(item.id, { label: item.label!, source: item.labelSource });
  const groups = population.ids.map((id) => labels.get(id)?.label ?? null);
  const chosen = stratifiedSample(groups, options.sample ?? DEFAULT_MAP_SAMPLE, seed);
  const matrix = loadEmbeddings(root, { store, model: population.modelId, ids: new Set(chosen.map((index) => population.ids[index]!)) });
  options.onProgress?.({ phase: 'load', done: 1, total: 1 });
  const projection = await projectEmbeddings(matrix, { ...options, seed, onProgress: options.onProgress });
  const points = projection.ids.map((id, row): MapItem => {
    const label = labels.get(id);
    return { id, x: projection.xy[row * 2]!, y: projection.xy[row * 2 + 1]!, label: label?.label ?? null, source: label?.source ?? null };
  });
  return new EmbeddingMap(points, population.modelId, population.ids.length, projection.skipped, options.svg);
}
