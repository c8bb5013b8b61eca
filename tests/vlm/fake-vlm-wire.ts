/**
 * The fake VLM's reading of a request: it checks a body against the wire format of its dialect — OpenAI chat
 * completions or Ollama's native /api/chat — exactly as strictly as a careful server would, and turns it into
 * what the fake model needs: the images in order (each demonstration with the answer it was shown with), the
 * JSON schema asked for, and whether log-probabilities were asked for. Anything malformed is a WireError
 * naming the field, which the server answers with HTTP 400.
 *
 * How demonstrations are recognised (what a model reading the prompt would understand):
 * - an image in a user message followed by an assistant message is a demonstration whose answer is that
 *   assistant message (the per-message layout);
 * - OpenAI interleaved parts: an image followed, before the next image, by a text part `Answer: X`;
 * - Ollama, one message with several images: its `Answer: X` lines belong to its first images, in order.
 * The last image is the query.
 */

export type FakeDialect = 'openai' | 'ollama';

export class WireError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface SeenImage {
  bytes: Buffer;
  /** The MIME type the request declared (OpenAI data URL), or null (Ollama sends bare base64). */
  declaredMime: string | null;
  /** Where it was in the body, for error messages. */
  field: string;
  /** The answer it was shown with, when it is a demonstration. */
  answer?: string;
}

export interface SeenPrompt {
  model: string;
  images: SeenImage[];
  /** The JSON schema the answer must follow (OpenAI json_schema, Ollama format object). */
  schema?: Record<string, unknown>;
  /** OpenAI `json_object` / Ollama `format: "json"`: JSON asked, no schema. */
  jsonWithoutSchema: boolean;
  logprobs: boolean;
  maxTokens?: number;
  /** Characters of text in the prompt, for the token counts of the usage. */
  textChars: number;
}

const ROLES = new Set(['system', 'user', 'assistant']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DATA_URL = /^data:(image\/(?:jpeg|png|webp|gif));base64,(.*)$/s;
const ANSWER_PART = /^\s*Answer:\s*([\s\S]*?)\s*$/;
const ANSWER_LINES = /^\s*Answer:[ \t]*(.*?)\s*$/gm;
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeBase64(text: string, field: string): Buffer {
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) throw new WireError(field, 'is not valid base64');
  return Buffer.from(text, 'base64');
}

function checkCommon(body: unknown): { body: Record<string, unknown>; model: string; messages: Record<string, unknown>[] } {
  if (!isObject(body)) throw new WireError('body', 'must be a JSON object');
  if (typeof body.model !== 'string' || body.model.length === 0) throw new WireError('model', 'must be a non-empty string');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new WireError('messages', 'must be a non-empty array');
  body.messages.forEach((message, i) => {
    if (!isObject(message)) throw new WireError(`messages[${i}]`, 'must be an object');
    if (typeof message.role !== 'string' || !ROLES.has(message.role)) throw new WireError(`messages[${i}].role`, `must be one of system, user, assistant (got ${JSON.stringify(message.role)})`);
  });
  return { body, model: body.model, messages: body.messages as Record<string, unknown>[] };
}

function checkMaxTokens(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new WireError(field, 'must be a positive integer');
  return value;
}

function checkSchema(schema: unknown, field: string): Record<string, unknown> {
  if (!isObject(schema)) throw new WireError(field, 'must be a JSON schema object');
  if (schema.type !== undefined && typeof schema.type !== 'string' && !Array.isArray(schema.type)) throw new WireError(`${field}.type`, 'must be a string or an array of strings');
  return schema;
}

/** The content of an assistant message as the answer it demonstrates. */
function assistantText(message: Record<string, unknown>, field: string): string {
  if (typeof message.content === 'string') return message.content;
  if (Array.isArray(message.content)) return message.content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
  throw new WireError(`${field}.content`, 'an assistant message needs its content');
}

/** Parses and checks an OpenAI chat-completions body. */
export function readOpenAiRequest(raw: unknown): SeenPrompt {
  const { body, model, messages } = checkCommon(raw);
  if (body.stream !== undefined && body.stream !== false) throw new WireError('stream', 'must be false or absent: the fake answers only non-streamed requests');
  const images: SeenImage[] = [];
  let textChars = 0;
  messages.forEach((message, i) => {
    const where = `messages[${i}]`;
    if ('images' in message) throw new WireError(`${where}.images`, "is a field of Ollama's native API; the OpenAI format sends images as image_url content parts");
    const content = message.content;
    if (typeof content === 'string') {
      textChars += content.length;
      return;
    }
    if (!Array.isArray(content) || content.length === 0) throw new WireError(`${where}.content`, 'must be a string or a non-empty array of content parts');
    const imagesHere: SeenImage[] = [];
    content.forEach((part, j) => {
      const at = `${where}.content[${j}]`;
      if (!isObject(part)) throw new WireError(at, 'must be an object');
      if (part.type === 'text') {
        if (typeof part.text !== 'string') throw new WireError(`${at}.text`, 'must be a string');
        textChars += part.text.length;
        const answer = ANSWER_PART.exec(part.text);
        const last = imagesHere[imagesHere.length - 1];
        if (answer && last && last.answer === undefined) last.answer = answer[1];
      } else if (part.type === 'image_url') {
        if (message.role !== 'user') throw new WireError(at, `images belong in user messages, not in a ${String(message.role)} message`);
        const imageUrl = part.image_url;
        if (!isObject(imageUrl) || typeof imageUrl.url !== 'string') throw new WireError(`${at}.image_url.url`, 'must be a string');
        if (imageUrl.detail !== undefined && !['auto', 'low', 'high'].includes(imageUrl.detail as string)) throw new WireError(`${at}.image_url.detail`, 'must be auto, low or high');
        const data = DATA_URL.exec(imageUrl.url);
        if (!data) throw new WireError(`${at}.image_url.url`, `must be a data:image/(jpeg|png|webp|gif);base64,… URL (got ${JSON.stringify(imageUrl.url.slice(0, 40))})`);
        imagesHere.push({ bytes: decodeBase64(data[2]!, `${at}.image_url.url`), declaredMime: data[1]!, field: `${at}.image_url.url` });
      } else {
        throw new WireError(`${at}.type`, `unknown content part type ${JSON.stringify(part.type)}; expected "text" or "image_url"`);
      }
    });
    const next = messages[i + 1];
    if (next?.role === 'assistant') {
      const answer = assistantText(next, `messages[${i + 1}]`);
      for (const image of imagesHere) image.answer ??= answer;
    }
    images.push(...imagesHere);
  });
  let schema: Record<string, unknown> | undefined;
  let jsonWithoutSchema = false;
  const format = body.response_format;
  if (format !== undefined) {
    if (!isObject(format)) throw new WireError('response_format', 'must be an object');
    if (format.type === 'json_schema') {
      const spec = format.json_schema;
      if (!isObject(spec)) throw new WireError('response_format.json_schema', 'must be an object { name, schema, strict? }');
      if (typeof spec.name !== 'string' || !SCHEMA_NAME.test(spec.name)) throw new WireError('response_format.json_schema.name', 'must be 1–64 letters, digits, _ or -');
      if (spec.strict !== undefined && typeof spec.strict !== 'boolean') throw new WireError('response_format.json_schema.strict', 'must be a boolean');
      schema = checkSchema(spec.schema, 'response_format.json_schema.schema');
    } else if (format.type === 'json_object') {
      jsonWithoutSchema = true;
    } else if (format.type !== 'text') {
      throw new WireError('response_format.type', `must be json_schema, json_object or text (got ${JSON.stringify(format.type)})`);
    }
  }
  if (body.logprobs !== undefined && typeof body.logprobs !== 'boolean') throw new WireError('logprobs', 'must be a boolean');
  if (body.top_logprobs !== undefined && (!Number.isInteger(body.top_logprobs) || (body.top_logprobs as number) < 0 || (body.top_logprobs as number) > 20)) throw new WireError('top_logprobs', 'must be an integer 0–20');
  if (body.temperature !== undefined && typeof body.temperature !== 'number') throw new WireError('temperature', 'must be a number');
  const maxTokens = checkMaxTokens(body.max_tokens, 'max_tokens');
  return { model, images, schema, jsonWithoutSchema, logprobs: body.logprobs === true, maxTokens, textChars };
}

/** Parses and checks an Ollama /api/chat body. */
export function readOllamaRequest(raw: unknown): SeenPrompt {
  const { body, model, messages } = checkCommon(raw);
  // Ollama streams unless told not to: a client that forgets stream:false gets NDJSON it cannot parse.
  if (body.stream !== false) throw new WireError('stream', 'must be false (Ollama streams by default; the fake answers only non-streamed requests)');
  const images: SeenImage[] = [];
  let textChars = 0;
  messages.forEach((message, i) => {
    const where = `messages[${i}]`;
    if (typeof message.content !== 'string') throw new WireError(`${where}.content`, "must be a string in Ollama's native API (images go in the message's images array, not in content parts)");
    textChars += message.content.length;
    if (message.images === undefined) return;
    if (!Array.isArray(message.images)) throw new WireError(`${where}.images`, 'must be an array of base64 strings');
    if (message.role !== 'user' && message.images.length > 0) throw new WireError(`${where}.images`, `images belong in user messages, not in a ${String(message.role)} message`);
    const imagesHere = message.images.map((image, j): SeenImage => {
      const at = `${where}.images[${j}]`;
      if (typeof image !== 'string') throw new WireError(at, 'must be a base64 string');
      if (image.startsWith('data:')) throw new WireError(at, 'must be bare base64, not a data: URL (that is the OpenAI format)');
      return { bytes: decodeBase64(image, at), declaredMime: null, field: at };
    });
    const next = messages[i + 1];
    if (next?.role === 'assistant') {
      for (const image of imagesHere) image.answer = assistantText(next, `messages[${i + 1}]`);
    } else {
      const answers = [...message.content.matchAll(ANSWER_LINES)].map((match) => match[1]!);
      answers.slice(0, imagesHere.length).forEach((answer, j) => (imagesHere[j]!.answer = answer));
    }
    images.push(...imagesHere);
  });
  let schema: Record<string, unknown> | undefined;
  let jsonWithoutSchema = false;
  if (body.format === 'json') jsonWithoutSchema = true;
  else if (body.format !== undefined && body.format !== '') schema = checkSchema(body.format, 'format');
  if (body.logprobs !== undefined && typeof body.logprobs !== 'boolean') throw new WireError('logprobs', 'must be a boolean');
  let maxTokens: number | undefined;
  if (body.options !== undefined) {
    if (!isObject(body.options)) throw new WireError('options', 'must be an object');
    if (body.options.temperature !== undefined && typeof body.options.temperature !== 'number') throw new WireError('options.temperature', 'must be a number');
    maxTokens = checkMaxTokens(body.options.num_predict, 'options.num_predict');
  }
  return { model, images, schema, jsonWithoutSchema, logprobs: body.logprobs === true, maxTokens, textChars };
}
