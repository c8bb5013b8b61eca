/**
 * Text towers and natural-language search: the offline text encoder (word vectors + hashed n-gram buckets)
 * and a projection of the frozen image embeddings, trained together with InfoNCE on the user's captions
 * (LiT-style), saved beside the store; or, zero-shot, the text tower of the two-tower model (CLIP, SigLIP)
 * that embedded the images. Both behind one interface, {@link TextTower}; `openTextSearch` picks one.
 * Fed with plain data; the dataset, CLI and session wire it in.
 *
 * @example
 * import { trainTextModel, saveTextModel, loadTextModel, textModelDir } from './text';
 * const { model } = await trainTextModel({ images, imageDim: 1280, captions, imageOfCaption }, { epochs: 40 }, (p) => console.log(p.epoch, p.loss));
 * saveTextModel(model, textModelDir('photos/'));
 * const query = model.encodeText(['a dog asleep on a sofa']);   // 1 × 128, unit length
 * const joint = model.projectImages(images);                     // n × 128: score = dot(query, row)
 */
export { TextModel, createTextModel, DEFAULT_JOINT_DIM, DEFAULT_BUCKETS, type TextModelSettings, type TextModelOptions } from './text-model';
export { trainTextModelHere, DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE, type TrainingPairs, type TrainingOptions, type TrainingProgress, type TrainingReport } from './train';
export { trainTextModel, trainAdapters } from './train-in-worker';
export { saveTextModel, loadTextModel, encodeTextModel, decodeTextModel, textModelDir, TextModelFileError, TEXT_MODEL_FILE, TEXT_MODEL_VERSION } from './model-file';
export { loadWordVectors, DEFAULT_WORD_VECTORS, type WordVectors } from './word-vectors';
export { wordsOf, featuresOf, type TextFeatures, type TokenizerSettings } from './tokenize';
export { trainDatasetText, TEXT_LOSS_CHART, type TextTrainOptions, type TextTrainReport } from './dataset-text';
export { TEXT_TRAINING_FILE, readTrainingRecord, type TrainingRecord } from './training-record';
export { TextSearch, JOINT_CACHE_FILE, type SearchHit, type SearchOptions } from './text-search';
export { TrainedTower, EmbeddingModelTower, AdaptedTower, type TextTower, type TextTowerKind } from './text-tower';
export { openTextSearch, chooseTower, prepareTrainedSpace, type OpenSearchOptions, type TowerChoice } from './open-search';
export { Adapters, createAdapters, adapterLossAndGradients, type AdapterGradients } from './adapters';
export { trainAdaptersHere, DEFAULT_ADAPTER_LEARNING_RATE, type AdapterPairs, type AdapterTrainingOptions } from './adapter-train';
export { saveAdapters, loadAdapters, encodeAdapters, decodeAdapters, ADAPTERS_FILE, ADAPTERS_TRAINING_FILE } from './adapter-file';
export { ADAPTED_CACHE_FILE } from './adapted-space';
export { JointIndex, type JointKey } from './joint-index';
export { QdrantSpace, qdrantSearchConfig, spaceDigest, type QdrantSearchConfig, type SpaceContents } from './qdrant-space';
export { toSearchFilter, payloadOf, SEARCH_PAYLOAD_INDEXES, type SearchPayload } from './qdrant-payload';
