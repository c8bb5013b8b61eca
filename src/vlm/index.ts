/**
 * The vision-language-model assist: a client for OpenAI-compatible servers and Ollama's native API
 * (createVlmClient), its configuration (resolveVlmConfig), and prompt images (promptImage).
 */
export type { FewShotLayout, PromptImage, VlmAnswer, VlmClient, VlmConfig, VlmDialect, VlmFailure, VlmRequest, VlmUsage } from './types';
export { createVlmClient, type VlmClientOptions, type VlmRetryEvent } from './client';
export { resolveVlmConfig, vlmConfigPath, VLM_DEFAULTS } from './config';
export { promptImage } from './images';
export { VlmConfigError, VlmError } from '../errors';
