/** Learning from labels: the softmax head, the rankers, and the active-learning loop that ties them to embeddings. */
export { ActiveLearner, COVERAGE_SAMPLE, type LearnerOptions } from './learner';
export { rankedList, RANKED_LENGTH, type RankKey } from './ranked-lists';
export { SoftmaxHead, type HeadOptions, type HeadWeights, type Suggestion } from './softmax-head';
export { getRanker, RANKER_NAMES, pageFor, nextPageClass, type Ranker, type RankerName, type RankContext, type Pick } from './rankers';
export { scoreAll } from './scorer';
export { OnnxScorer } from './onnx-scorer';
export { centeringAndNormalizing, checkShape, normalizeRows, type EmbeddingMatrix } from './embedding-matrix';
export { simulate, DEFAULT_TIME_MODEL, type SimulationOptions, type SimulationResult, type TimeModel, type CurvePoint } from './simulator';
export { lineChartSvg, type Series, type ChartOptions } from './curve-svg';
export { multiplyTransposed } from './multiply';
