import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveVlmConfig, VLM_DEFAULTS, VlmConfigError, vlmConfigPath } from '../../src/vlm';
import { tempDir } from '../helpers/fixtures';

/** VLM settings: overrides over the environment over DIR/.quicksort/vlm.json over the defaults. */

let dataset: { dir: string; cleanup: () => void };
beforeEach(() => {
  dataset = tempDir('quicksort-vlm-config-');
});
afterEach(() => dataset.cleanup());

function writeConfig(content: unknown): string {
  const file = vlmConfigPath(dataset.dir);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function errorOf(run: () => unknown): VlmConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VlmConfigError);
    return error as VlmConfigError;
  }
  throw new Error('expected a VlmConfigError');
}

test('the environment alone, with the defaults', () => {
  const config = resolveVlmConfig({ env: { QUICKSORT_VLM_URL: 'http://127.0.0.1:8080/v1/', QUICKSORT_VLM_MODEL: 'qwen', QUICKSORT_VLM_API_KEY: 'k', QUICKSORT_VLM_DIALECT: 'openai', QUICKSORT_VLM_LAYOUT: 'interleaved' } });
  expect(config).toEqual({ ...VLM_DEFAULTS, url: 'http://127.0.0.1:8080/v1', model: 'qwen', apiKey: 'k', dialect: 'openai', layout: 'interleaved' });
});

test('the dataset file, the environment over it, overrides over both', () => {
  writeConfig({ url: 'http://file:11434', model: 'from-file', dialect: 'ollama', timeoutMs: 5000, concurrency: 2, apiKeyEnv: 'MY_VLM_KEY' });
  const fromFile = resolveVlmConfig({ root: dataset.dir, env: { MY_VLM_KEY: 'secret' } });
  expect(fromFile).toEqual({ ...VLM_DEFAULTS, url: 'http://file:11434', model: 'from-file', dialect: 'ollama', timeoutMs: 5000, concurrency: 2, apiKey: 'secret' });
  const envWins = resolveVlmConfig({ root: dataset.dir, env: { MY_VLM_KEY: 'secret', QUICKSORT_VLM_MODEL: 'from-env', QUICKSORT_VLM_CONCURRENCY: '8', QUICKSORT_VLM_URL: '' } });
  expect(envWins).toMatchObject({ url: 'http://file:11434', model: 'from-env', concurrency: 8, timeoutMs: 5000 });
  const overridden = resolveVlmConfig({ root: dataset.dir, env: { MY_VLM_KEY: 'secret', QUICKSORT_VLM_MODEL: 'from-env' }, overrides: { model: 'from-call', layout: 'interleaved' } });
  expect(overridden).toMatchObject({ model: 'from-call', layout: 'interleaved', dialect: 'ollama' });
});

test('nothing configured: the error says what to set', () => {
  const noUrl = errorOf(() => resolveVlmConfig({ root: dataset.dir, env: {} }));
  expect(noUrl.field).toBe('QUICKSORT_VLM_URL');
  expect(noUrl.message).toContain('set QUICKSORT_VLM_URL');
  expect(noUrl.message).toContain(vlmConfigPath(dataset.dir));
  const noModel = errorOf(() => resolveVlmConfig({ env: { QUICKSORT_VLM_URL: 'http://127.0.0.1:8080/v1' } }));
  expect(noModel.field).toBe('QUICKSORT_VLM_MODEL');
  expect(noModel.exitCode).toBe(2);
});

test.each([
  ['not JSON', '{url: ', 'file', /is not valid JSON/],
  ['not an object', '[1, 2]', 'file', /must hold a JSON object/],
  ['an unknown field', { url: 'http://x/v1', model: 'm', modle: 'typo' }, 'modle', /field "modle" is not a VLM setting/],
  ['a bad dialect', { url: 'http://x/v1', model: 'm', dialect: 'anthropic' }, 'dialect', /field "dialect" must be one of "openai", "ollama"/],
  ['a bad number', { url: 'http://x/v1', model: 'm', retries: -1 }, 'retries', /field "retries" must be an integer from 0 to 10/],
  ['a URL that is not one', { url: 'localhost 8080', model: 'm' }, 'url', /field "url" is not a URL/],
  ['the API key itself', { url: 'http://x/v1', model: 'm', apiKey: 'sk-1' }, 'apiKey', /must not be in the dataset folder/],
  ['an apiKeyEnv that is not set', { url: 'http://x/v1', model: 'm', apiKeyEnv: 'NOPE' }, 'apiKeyEnv', /NOPE, which is not set/],
])('a bad vlm.json (%s) names the file and the field', (_what, content, field, message) => {
  const file = writeConfig(content);
  const error = errorOf(() => resolveVlmConfig({ root: dataset.dir, env: {} }));
  expect(error).toMatchObject({ file, field });
  expect(error.message).toContain(file);
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain('sk-1');
});

test('a bad environment variable is named', () => {
  const error = errorOf(() => resolveVlmConfig({ env: { QUICKSORT_VLM_URL: 'http://x/v1', QUICKSORT_VLM_MODEL: 'm', QUICKSORT_VLM_TIMEOUT_MS: '10s' } }));
  expect(error.field).toBe('QUICKSORT_VLM_TIMEOUT_MS');
  expect(error.message).toMatch(/^QUICKSORT_VLM_TIMEOUT_MS must be an integer/);
  expect(errorOf(() => resolveVlmConfig({ env: { QUICKSORT_VLM_URL: 'http://x/v1', QUICKSORT_VLM_MODEL: 'm', QUICKSORT_VLM_LAYOUT: 'grid' } })).field).toBe('QUICKSORT_VLM_LAYOUT');
});

test('a bad override is named as an option', () => {
  const error = errorOf(() => resolveVlmConfig({ env: { QUICKSORT_VLM_URL: 'http://x/v1', QUICKSORT_VLM_MODEL: 'm' }, overrides: { maxImageSide: 3 } }));
  expect(error.message).toMatch(/^options\.maxImageSide must be an integer from 16 to 4096/);
});
