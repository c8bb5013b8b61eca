import type { VlmRequest } from './types';
import { ANSWER_PREFIX, BadWireAnswer, base64Of, isRecord, readTokens, type WireAnswer, type WireDialect } from './wire-common';

/**
 * OpenAI chat completions, as llama.cpp's llama-server (with --mmproj), vLLM, Ollama's /v1 and OpenAI speak
 * it: images are `image_url` content parts holding `data:` URLs, structured output is
 * `response_format: {type: "json_schema", json_schema: {name, schema, strict}}`.
 *
 * Layouts: `interleaved` puts everything in one user message — for each demonstration its question, its
 * image and `Answer: …`, then the question and the query image(s); `per-message` gives each demonstration a
 * user turn (question, image) and an assistant turn (its answer), then the query's user turn.
 */

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

function imagePart(image: VlmRequest['images'][number]): Part {
  return { type: 'image_url', image_url: { url: `data:${image.mime};base64,${base64Of(image)}` } };
}

function messagesOf(request: VlmRequest, layout: 'interleaved' | 'per-message'): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  // Several query images (a cluster verification) each get their number, which the answer names them by.
  const numbered = request.images.length > 1;
  const query: Part[] = [{ type: 'text', text: request.question }, ...request.images.flatMap((image, i): Part[] => (numbered ? [{ type: 'text', text: `Image ${i + 1}:` }, imagePart(image)] : [imagePart(image)]))];
  if (layout === 'per-message') {
    for (const example of request.examples) {
      messages.push({ role: 'user', content: [{ type: 'text', text: example.question ?? request.question }, imagePart(example.image)] });
      messages.push({ role: 'assistant', content: example.answer });
    }
    messages.push({ role: 'user', content: query });
  } else {
    const parts: Part[] = request.examples.flatMap((example): Part[] => [
      { type: 'text', text: example.question ?? request.question },
      imagePart(example.image),
      { type: 'text', text: `${ANSWER_PREFIX}${example.answer}` },
    ]);
    messages.push({ role: 'user', content: [...parts, ...query] });
  }
  return messages;
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  // Some servers answer with content parts; only text parts make an answer.
  if (Array.isArray(content)) return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
  return null;
}

export const openAiWire: WireDialect = {
  endpoint: (url) => `${url}/chat/completions`,

  body(request, config) {
    const body: Record<string, unknown> = {
      model: config.model,
      messages: messagesOf(request, config.layout),
      stream: false,
      // Suggestions are read as decisions: the most likely answer, the same every time it is asked.
      temperature: 0,
    };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.schema) body.response_format = { type: 'json_schema', json_schema: { name: request.schema.name, schema: request.schema.schema, strict: true } };
    if (request.logprobs) body.logprobs = true;
    return body;
  },

  read(body): WireAnswer {
    const choice = isRecord(body) && Array.isArray(body.choices) ? body.choices[0] : undefined;
    if (!isRecord(choice) || !isRecord(choice.message)) throw new BadWireAnswer('the response has no choices[0].message');
    if (typeof choice.message.refusal === 'string' && choice.message.refusal) throw new BadWireAnswer(`the model refused: ${choice.message.refusal}`);
    const text = textOf(choice.message.content);
    if (text === null) throw new BadWireAnswer('choices[0].message.content is not text');
    const usage = isRecord(body) && isRecord(body.usage) && typeof body.usage.prompt_tokens === 'number' && typeof body.usage.completion_tokens === 'number' ? { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens } : null;
    const tokens = isRecord(choice.logprobs) ? readTokens(choice.logprobs.content) : null;
    return { text, usage, tokens, truncated: choice.finish_reason === 'length' };
  },
};
