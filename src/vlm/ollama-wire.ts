import type { VlmRequest } from './types';
import { ANSWER_PREFIX, BadWireAnswer, base64Of, isRecord, readTokens, type WireAnswer, type WireDialect } from './wire-common';

/**
 * Ollama's native `/api/chat`: a message's `content` is a string and its images travel beside it as bare
 * base64 in `images`; structured output is `format: <schema>`; `stream: false` must be said (Ollama streams by
 * default). Token limit and temperature go in `options`.
 *
 * Layouts: `per-message` gives each demonstration a user turn (question + its image) and an assistant turn
 * (its answer). Ollama cannot place an image inside the text, so `interleaved` sends one user message whose
 * images are the demonstrations then the query, and whose text numbers them: `Image 1: question` /
 * `Answer: …` for each demonstration, then `Image k+1: question`.
 */

function interleavedText(request: VlmRequest): string {
  const blocks = request.examples.map((example, i) => `Image ${i + 1}: ${example.question ?? request.question}\n${ANSWER_PREFIX}${example.answer}`);
  const first = request.examples.length + 1;
  const last = request.examples.length + request.images.length;
  // Several query images (a cluster verification) are numbered from 1 in its question: say which those are.
  blocks.push(first === last ? `Image ${first}: ${request.question}` : `Images ${first} to ${last} (numbered 1 to ${request.images.length} in the question): ${request.question}`);
  return blocks.join('\n\n');
}

function messagesOf(request: VlmRequest, layout: 'interleaved' | 'per-message'): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  if (layout === 'per-message' || request.examples.length === 0) {
    for (const example of request.examples) {
      messages.push({ role: 'user', content: example.question ?? request.question, images: [base64Of(example.image)] });
      messages.push({ role: 'assistant', content: example.answer });
    }
    messages.push({ role: 'user', content: request.question, images: request.images.map(base64Of) });
  } else {
    messages.push({ role: 'user', content: interleavedText(request), images: [...request.examples.map((e) => base64Of(e.image)), ...request.images.map(base64Of)] });
  }
  return messages;
}

export const ollamaWire: WireDialect = {
  endpoint: (url) => `${url}/api/chat`,

  body(request, config) {
    const options: Record<string, unknown> = { temperature: 0 };
    if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
    const body: Record<string, unknown> = { model: config.model, messages: messagesOf(request, config.layout), stream: false, options };
    if (request.schema) body.format = request.schema.schema;
    // Ollama 0.12.11+ answers with token log-probabilities; older versions ignore the field.
    if (request.logprobs) body.logprobs = true;
    return body;
  },

  read(body): WireAnswer {
    if (!isRecord(body) || !isRecord(body.message) || typeof body.message.content !== 'string') throw new BadWireAnswer('the response has no message.content');
    // prompt_eval_count is left out when Ollama reused a cached prompt: none were evaluated.
    const usage = typeof body.eval_count === 'number' ? { promptTokens: typeof body.prompt_eval_count === 'number' ? body.prompt_eval_count : 0, completionTokens: body.eval_count } : null;
    return { text: body.message.content, usage, tokens: readTokens(body.logprobs), truncated: body.done_reason === 'length' };
  },
};
