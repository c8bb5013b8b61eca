/**
 * The vision-language-model assist: a client for OpenAI-compatible servers and Ollama's native API
 * (createVlmClient), its configuration (resolveVlmConfig), and prompt images (promptImage).
 */
export type { FewShotLayout, PromptImage, VlmAnswer, VlmClient, VlmConfig, VlmDialect, VlmFailure, VlmRequest, VlmUsage } from './types';
export { createVlmClient, type VlmClientOptions, type VlmRetryEvent } from './client';
export { resolveVlmConfig, vlmConfigPath, VLM_DEFAULTS } from './config';
export { promptImage } from './images';
export { VlmConfigError, VlmError } from '../errors';
// The assist above the client: the demonstration bank, the prompts, the suggestion, caption and cluster-verification runs, their cache and cost.
export { DemonstrationBank, isHumanLabelled, type Demonstration, type CaptionDemonstration, type RetrieveOptions, type BankOptions, type Vote } from './bank';
export { labelPlan, captionPlan, labelSchema, captionSchema, parseLabelAnswer, parseCaptionAnswer, planDigest, materialize, LABEL_QUESTION, CAPTION_QUESTION, NEW_CLASS_PREFIX, type PromptPlan, type LabelAnswer } from './prompt';
export { suggestWithVlm, type SuggestOptions, type SuggestReport, type LabelOutcome, type DemonstrationChoice } from './suggest';
export { draftCaptions, type CaptionOptions, type CaptionReport, type CaptionOutcome } from './captions';
export { verifyClusterWithVlm, outlierTag, defaultPerRequest, DEFAULT_SAMPLE, type VerifyOptions, type VerifyReport, type VerifyOutcome, type Verdict } from './verify';
export { verifyPlan, verifySchema, verifyQuestion, parseVerifyAnswer, type VerifyAnswer } from './verify-prompt';
export { vlmAssist, withClient, type VlmAssist, type ServerChoice, type SuggestCall, type CaptionCall, type VerifyCall } from './assist';
export { vlmStats, openBank, type VlmDataset, type VlmRunOptions } from './dataset-run';
export { VlmCache, vlmCachePath, VLM_CACHE_FILE_NAME, type VlmCost, type VlmStats, type CachedAnswer } from './vlm-cache';
export { PromptImages, PromptImageCache, type ThumbnailSource } from './prompt-images';
export type { ItemOutcome, ItemStatus, RunReport, RunProgress } from './run';
