import { createHash } from 'node:crypto';
import type { PromptImage, VlmAnswer, VlmRequest } from './types';

/**
 * A few-shot prompt before its images are loaded: images are named by a reference (an item's content hash),
 * so the prompt's digest — the cache key — is known without decoding a pixel, and each image is loaded once.
 */
export interface PromptPlan<Image> {
  kind: 'label' | 'caption' | 'verify';
  system: string;
  examples: { image: Image; question?: string; answer: string }[];
  question: string;
  images: Image[];
  schema: { name: string; schema: Record<string, unknown> };
  maxTokens: number;
}

export const LABEL_QUESTION = 'What is this image?';
export const CAPTION_QUESTION = 'Describe this image in one sentence.';
/** The prefix of an answer that names a class the dataset does not have yet. */
export const NEW_CLASS_PREFIX = 'other: ';
/** Longest caption draft asked for: a sentence, not an essay (the store takes far longer ones). */
const MAX_CAPTION_DRAFT = 500;

/**
 * The answer's schema for a class suggestion: `{ label }`, one of the known classes or `other: NAME` for a
 * class the dataset does not have. Servers with structured output (json_schema, Ollama's format) cannot
 * answer anything else; the parse checks again for those without.
 */
export function labelSchema(classes: readonly string[]): { name: string; schema: Record<string, unknown> } {
  const newClass = { type: 'string', pattern: '^other: .+' };
  const label = classes.length > 0 ? { anyOf: [{ type: 'string', enum: [...classes] }, newClass] } : newClass;
  return {
    name: 'image_label',
    schema: { type: 'object', properties: { label }, required: ['label'], additionalProperties: false },
  };
}

export function captionSchema(): { name: string; schema: Record<string, unknown> } {
  return {
    name: 'image_caption',
    schema: {
      type: 'object',
      properties: { caption: { type: 'string', minLength: 1, maxLength: MAX_CAPTION_DRAFT } },
      required: ['caption'],
      additionalProperties: false,
    },
  };
}

/**
 * The few-shot prompt of a class suggestion: each demonstration is "this image → {"label": its class}" in the
 * answer's own JSON shape, so the model sees what to answer; the query image last.
 */
export function labelPlan<Image>(classes: readonly string[], demonstrations: readonly { image: Image; label: string }[], query: Image): PromptPlan<Image> {
  const listed = classes.map((name) => JSON.stringify(name)).join(', ');
  const system =
    'You sort images into the classes of a dataset. ' +
    (classes.length > 0 ? `Its classes are: ${listed}. ` : 'It has no classes yet. ') +
    `Answer with JSON {"label": …}: one of those classes, or "${NEW_CLASS_PREFIX}NAME" when the image shows none of them (NAME: a short class name).` +
    (demonstrations.length > 0 ? ' Labelled examples come first.' : '');
  return {
    kind: 'label',
    system,
    examples: demonstrations.map(({ image, label }) => ({ image, question: LABEL_QUESTION, answer: JSON.stringify({ label }) })),
    question: LABEL_QUESTION,
    images: [query],
    schema: labelSchema(classes),
    maxTokens: 64,
  };
}

/** The few-shot prompt of a caption draft: the nearest captioned images with their captions, then the query. */
export function captionPlan<Image>(demonstrations: readonly { image: Image; caption: string }[], query: Image): PromptPlan<Image> {
  return {
    kind: 'caption',
    system:
      'You write one-sentence captions of images, in the style of the examples, saying what is in the image. ' +
      'Answer with JSON {"caption": …}.',
    examples: demonstrations.map(({ image, caption }) => ({ image, question: CAPTION_QUESTION, answer: JSON.stringify({ caption }) })),
    question: CAPTION_QUESTION,
    images: [query],
    schema: captionSchema(),
    maxTokens: 160,
  };
}

/** The prompt with its images loaded (each reference once, however often it appears). */
export async function materialize<Image>(plan: PromptPlan<Image>, load: (image: Image) => Promise<PromptImage>, logprobs = true): Promise<VlmRequest> {
  const loaded = new Map<Image, Promise<PromptImage>>();
  const get = (image: Image) => {
    let pending = loaded.get(image);
    if (!pending) loaded.set(image, (pending = load(image)));
    return pending;
  };
  const examples = await Promise.all(plan.examples.map(async (e) => ({ image: await get(e.image), question: e.question, answer: e.answer })));
  const images = await Promise.all(plan.images.map(get));
  return { system: plan.system, examples, question: plan.question, images, schema: plan.schema, maxTokens: plan.maxTokens, logprobs };
}

/**
 * The prompt's identity for the cache: a sha256 of everything that shapes the answer — the text, the schema,
 * the images' content hashes and how they are sent (scale, layout). The model is the cache's other key.
 */
export function planDigest(plan: PromptPlan<string>, sending: { maxImageSide: number; layout: string }): string {
  const canonical = JSON.stringify([plan.kind, plan.system, plan.examples.map((e) => [e.image, e.question ?? plan.question, e.answer]), plan.question, plan.images, plan.schema, plan.maxTokens, sending.maxImageSide, sending.layout]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** What a class suggestion's answer said. */
export type LabelAnswer =
  | { kind: 'class'; label: string }
  /** "other: NAME": a class the dataset does not have. */
  | { kind: 'new_class'; name: string }
  /** A label outside the schema (a server without structured output, or one that ignored it). */
  | { kind: 'unknown_class'; name: string }
  | { kind: 'bad_answer'; reason: string };

/**
 * Reads a class suggestion: the JSON the client parsed (or the text, for a server that did not constrain it),
 * matched to the known classes exactly, else without regard to case when that names one class.
 */
export function parseLabelAnswer(answer: Pick<VlmAnswer, 'text' | 'json'>, classes: readonly string[]): LabelAnswer {
  const value = answerField(answer, 'label');
  if (typeof value !== 'string' || value.trim() === '') return { kind: 'bad_answer', reason: `the answer has no "label" string: ${clip(answer.text)}` };
  const label = value.trim();
  const other = /^other\s*:\s*(.+)$/is.exec(label);
  const name = other ? other[1]!.trim() : label;
  const known = matchClass(name, classes);
  if (known !== undefined) return { kind: 'class', label: known };
  return other ? { kind: 'new_class', name } : { kind: 'unknown_class', name: label };
}

/** Reads a caption draft; a blank one is a bad answer. */
export function parseCaptionAnswer(answer: Pick<VlmAnswer, 'text' | 'json'>): { kind: 'caption'; caption: string } | { kind: 'bad_answer'; reason: string } {
  const value = answerField(answer, 'caption');
  const caption = typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : '';
  if (caption === '') return { kind: 'bad_answer', reason: `the answer has no "caption" text: ${clip(answer.text)}` };
  return { kind: 'caption', caption: caption.slice(0, MAX_CAPTION_DRAFT) };
}

function answerField(answer: Pick<VlmAnswer, 'text' | 'json'>, field: string): unknown {
  let json = answer.json;
  if (json === undefined) {
    try {
      json = JSON.parse(answer.text);
    } catch {
      return undefined;
    }
  }
  return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)[field] : undefined;
}

function matchClass(name: string, classes: readonly string[]): string | undefined {
  if (classes.includes(name)) return name;
  const folded = classes.filter((c) => c.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

function clip(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
