/**
 * Maps of the embeddings: a dataset's items laid out in 2-D (UMAP after PCA, or PCA alone) from a stratified
 * sample, coloured by class, drawn as SVG.
 *
 * @example
 * import { mapDataset } from './map';
 * const map = await mapDataset(ds.store, ds.root, { sample: 20000, seed: 1 });
 * writeFileSync('map.svg', map.svg);
 * map.points[0]; // { id, x, y, label, source }
 */
export { mapDataset, EmbeddingMap, DEFAULT_MAP_SAMPLE, type MapOptions, type MapProgress, type MapItem } from './embedding-map';
export { projectEmbeddings, type Projection, type ProjectOptions } from './project';
export { layout2d, MAP_METHODS, type MapMethod, type LayoutOptions, type LayoutProgress, type LayoutPhase } from './layout';
export { pca, type PcaResult, type PcaOptions } from './pca';
export { stratifiedSample } from './sample';
export { mapSvg, classCounts, type MapPoint, type MapSvgOptions, type ClassCount } from './map-svg';
