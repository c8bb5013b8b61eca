import sharp from 'sharp';
import { WireError, type SeenPrompt } from './fake-vlm-wire';

/**
 * The fake VLM's "model": a 1-nearest-neighbour reader of its own prompt. It decodes every image it is sent
 * (a request with an undecodable image is a 400, like a real server), and answers the query image (the last
 * one) with the answer of the most similar demonstration — so an answer can only be right when the right
 * examples were sent. Similarity is the cosine of 16×16 RGB thumbnails with pixels mapped to [-1, 1] (colour
 * kept, so solid-colour test images are told apart).
 */

/** The answer to a free-text request without demonstrations. */
export const FAKE_CAPTION = 'a small picture of shapes and colours';
/** The class `answerUnknownClass` makes the fake answer with: in no enum. */
export const FAKE_UNKNOWN_CLASS = 'zebra-unicorn';

const SIDE = 16;

export interface FakeReply {
  content: string;
  /** The similarity-derived probability of the answer, (1 + cosine) / 2; null without demonstrations. */
  confidence: number | null;
  /** Characters of `content` that are the answer's value (inside the JSON string), for the logprobs. */
  valueSpan: [number, number];
}

/** `out_of_range`: a cluster verification's answer names an image number past the last one (other prompts: no twist). */
export type AnswerTwist = 'none' | 'malformed' | 'unknown_class' | 'out_of_range';

/**
 * A cluster verification (the schema asks for `outliers`, an array of image numbers) is answered by this rule:
 * a group image is an outlier when the cosine of its thumbnail to the mean thumbnail of the demonstrations is
 * below this. Images of one colour class are above 0.98 to their mean; the nearest two classes of the test
 * colours (yellow, orange) are 0.88 apart, so a group checked against the wrong class's examples is all outliers.
 */
export const FAKE_OUTLIER_THRESHOLD = 0.9;

interface AnswerShape {
  /** The object property that holds the answer; null when the schema is a bare string. */
  field: string | null;
  enumValues: string[] | null;
  pattern: RegExp | null;
  /** Other required properties, filled with empty values so the answer still fits the schema. */
  otherRequired: [string, unknown][];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A schema node's enum and pattern, looking into anyOf / oneOf branches (enum ∪ "other: NAME" pattern). */
function stringConstraints(node: Record<string, unknown>): { enumValues: string[] | null; pattern: RegExp | null } {
  const nodes = [node, ...(['anyOf', 'oneOf'] as const).flatMap((key) => (Array.isArray(node[key]) ? (node[key] as unknown[]).filter(isObject) : []))];
  const enumValues = nodes.flatMap((n) => (Array.isArray(n.enum) ? n.enum.filter((v): v is string => typeof v === 'string') : []));
  const patternNode = nodes.find((n) => typeof n.pattern === 'string');
  return { enumValues: enumValues.length > 0 ? enumValues : null, pattern: patternNode ? new RegExp(patternNode.pattern as string) : null };
}

function emptyValue(node: unknown): unknown {
  if (!isObject(node)) return '';
  switch (node.type) {
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return Array.isArray(node.enum) ? node.enum[0] : '';
  }
}

function answerShape(schema: Record<string, unknown>): AnswerShape {
  if (!isObject(schema.properties)) return { field: null, ...stringConstraints(schema), otherRequired: [] };
  const properties = Object.entries(schema.properties).filter((entry): entry is [string, Record<string, unknown>] => isObject(entry[1]));
  const withEnum = properties.find(([, node]) => stringConstraints(node).enumValues !== null);
  const chosen = withEnum ?? properties.find(([, node]) => node.type === 'string');
  if (!chosen) throw new WireError('schema', 'the fake VLM needs a string property to put its answer in');
  const required = Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [];
  const otherRequired = required.filter((name) => name !== chosen[0]).map((name): [string, unknown] => [name, emptyValue((schema.properties as Record<string, unknown>)[name])]);
  return { field: chosen[0], ...stringConstraints(chosen[1]), otherRequired };
}

/** A demonstration's answer as a plain value: `{"label":"cat"}` and `"cat"` both read as `cat`. */
function plainAnswer(answer: string, field: string | null): string {
  try {
    const parsed: unknown = JSON.parse(answer);
    if (typeof parsed === 'string') return parsed;
    if (isObject(parsed)) {
      const value = field !== null ? parsed[field] : undefined;
      if (typeof value === 'string') return value;
      const firstString = Object.values(parsed).find((v): v is string => typeof v === 'string');
      if (firstString !== undefined) return firstString;
    }
  } catch {
    // Not JSON: the answer is the text itself.
  }
  return answer.trim();
}

async function features(bytes: Buffer, field: string): Promise<Float32Array> {
  let pixels: Buffer;
  try {
    pixels = await sharp(bytes).removeAlpha().resize(SIDE, SIDE, { fit: 'fill' }).toColourspace('srgb').raw().toBuffer();
  } catch (error) {
    throw new WireError(field, `the image cannot be decoded (${error instanceof Error ? error.message : String(error)})`);
  }
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! / 127.5 - 1;
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Checks that a declared MIME type matches what the bytes are (a client bug a strict server would catch). */
async function checkDeclaredType(bytes: Buffer, declared: string | null, field: string): Promise<void> {
  if (declared === null) return;
  const format = (await sharp(bytes).metadata()).format;
  const actual = format === 'jpeg' ? 'image/jpeg' : `image/${format}`;
  if (actual !== declared) throw new WireError(field, `declares ${declared} but holds ${actual}`);
}

/** Decodes every image of the prompt and answers it; throws a WireError for an image that does not decode. */
export async function answerPrompt(prompt: SeenPrompt, twist: AnswerTwist): Promise<FakeReply> {
  const vectors = await Promise.all(
    prompt.images.map(async (image) => {
      const vector = await features(image.bytes, image.field);
      await checkDeclaredType(image.bytes, image.declaredMime, image.field);
      return vector;
    }),
  );
  if (prompt.schema && isVerification(prompt.schema)) return answerVerification(prompt, vectors, twist);
  const shape = prompt.schema ? answerShape(prompt.schema) : null;
  const queryIndex = prompt.images.length - 1;
  let nearest: { answer: string; similarity: number } | null = null;
  for (let i = 0; i < queryIndex; i++) {
    const answer = prompt.images[i]!.answer;
    if (answer === undefined) continue;
    const similarity = cosine(vectors[i]!, vectors[queryIndex]!);
    if (!nearest || similarity > nearest.similarity) nearest = { answer: plainAnswer(answer, shape?.field ?? null), similarity };
  }
  let value: string;
  if (twist === 'unknown_class') value = FAKE_UNKNOWN_CLASS;
  else if (shape?.enumValues) {
    const raw = nearest?.answer;
    if (raw === undefined) value = shape.enumValues[0]!;
    else if (shape.enumValues.includes(raw) || shape.pattern?.test(raw)) value = raw;
    else if (shape.pattern?.test(`other: ${raw}`)) value = `other: ${raw}`;
    else value = shape.enumValues[0]!;
  } else value = nearest?.answer ?? FAKE_CAPTION;
  const confidence = nearest ? (1 + nearest.similarity) / 2 : null;
  if (twist === 'malformed') return { content: `Sure! The answer is ${value}.`, confidence, valueSpan: [20, 20 + value.length] };
  if (!prompt.schema && !prompt.jsonWithoutSchema) return { content: value, confidence, valueSpan: [0, value.length] };
  const encoded = JSON.stringify(value);
  if (shape?.field === null) return { content: encoded, confidence, valueSpan: [1, encoded.length - 1] };
  const prefix = `{${JSON.stringify(shape?.field ?? 'answer')}:`;
  const rest = (shape?.otherRequired ?? []).map(([name, empty]) => `,${JSON.stringify(name)}:${JSON.stringify(empty)}`).join('');
  return { content: `${prefix}${encoded}${rest}}`, confidence, valueSpan: [prefix.length + 1, prefix.length + encoded.length - 1] };
}

function isVerification(schema: Record<string, unknown>): boolean {
  const outliers = isObject(schema.properties) ? schema.properties.outliers : undefined;
  return isObject(outliers) && outliers.type === 'array';
}

/**
 * Which group images are not of the demonstrations' class: the demonstrations are the images shown with an
 * answer, the group the ones without, numbered 1..n in order. The request must carry both, and its schema's
 * numbers must run to exactly n (a client that numbered the group wrong is refused, as a 400).
 */
function answerVerification(prompt: SeenPrompt, vectors: Float32Array[], twist: AnswerTwist): FakeReply {
  const demonstrations = vectors.filter((_, i) => prompt.images[i]!.answer !== undefined);
  const group = vectors.filter((_, i) => prompt.images[i]!.answer === undefined);
  if (demonstrations.length === 0) throw new WireError('messages', 'a cluster verification needs examples of the class (images with an answer) before the group');
  if (group.length === 0) throw new WireError('messages', 'a cluster verification needs the group images after the examples');
  const items = ((prompt.schema!.properties as Record<string, unknown>).outliers as Record<string, unknown>).items;
  const maximum = isObject(items) ? items.maximum : undefined;
  if (!isObject(items) || items.type !== 'integer') throw new WireError('schema.properties.outliers.items', 'must be {"type": "integer", …}: the answer is image numbers');
  if (maximum !== group.length || items.minimum !== 1) throw new WireError('schema.properties.outliers.items', `must number the ${group.length} group images 1..${group.length} (got ${JSON.stringify(items.minimum)}..${JSON.stringify(maximum)})`);
  const mean = new Float32Array(demonstrations[0]!.length);
  for (const vector of demonstrations) for (let j = 0; j < mean.length; j++) mean[j] = mean[j]! + vector[j]! / demonstrations.length;
  const similarities = group.map((vector) => cosine(vector, mean));
  const outliers = similarities.flatMap((similarity, i) => (similarity < FAKE_OUTLIER_THRESHOLD ? [i + 1] : []));
  if (twist === 'out_of_range') outliers.push(group.length + 1);
  // Sure of what is far from the threshold, unsure of what is near it.
  const confidence = similarities.reduce((sum, s) => sum + Math.min(1, 0.5 + Math.abs(s - FAKE_OUTLIER_THRESHOLD) * 5), 0) / group.length;
  const list = JSON.stringify(outliers);
  if (twist === 'malformed') return { content: `The odd ones out are ${outliers.join(' and ') || 'none'}.`, confidence, valueSpan: [0, 0] };
  const prefix = '{"outliers":';
  return { content: `${prefix}${list}}`, confidence, valueSpan: [prefix.length, prefix.length + list.length] };
}

/** The reply cut into tokens of up to 3 characters; the answer's value tokens carry log(confidence). */
export function replyTokens(reply: FakeReply): { token: string; logprob: number }[] {
  const valueLogprob = Math.log(reply.confidence ?? 0.5);
  const tokens: { token: string; logprob: number }[] = [];
  for (let start = 0; start < reply.content.length; start += 3) {
    const end = Math.min(start + 3, reply.content.length);
    const overlapsValue = start < reply.valueSpan[1] && end > reply.valueSpan[0];
    // Structure forced by the grammar is near-certain; only the value carries the model's doubt.
    tokens.push({ token: reply.content.slice(start, end), logprob: overlapsValue ? valueLogprob : Math.log(0.999) });
  }
  return tokens;
}
