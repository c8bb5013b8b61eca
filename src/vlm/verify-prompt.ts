import type { PromptPlan } from './prompt';
import type { VlmAnswer } from './types';

/**
 * The prompt of a cluster verification: labelled examples of one class, then a numbered group of images the
 * head put in that class, and the question which of them are not of it. The answer is `{ "outliers": [n, …] }`
 * with numbers 1..N of the group (N: the query images of this request), [] when all belong.
 */

/** How a demonstration of the class is introduced (the per-message layout sends it as its own user turn). */
export function exampleQuestion(label: string): string {
  return `An image of ${JSON.stringify(label)}.`;
}

/** The question about the group; the images come after it in order, and are numbered 1..count in that order. */
export function verifyQuestion(label: string, count: number): string {
  const quoted = JSON.stringify(label);
  return (
    `These are images of ${quoted}: the examples above. Which of the following ${count} image${count === 1 ? '' : 's'} are NOT ${quoted}? ` +
    `They are numbered 1 to ${count} in the order they come. Answer with their numbers as JSON {"outliers": [...]}, [] when all of them are ${quoted}.`
  );
}

/** The answer's schema: the outliers' numbers, each 1..count (a number twice is read as once). */
export function verifySchema(count: number): { name: string; schema: Record<string, unknown> } {
  return {
    name: 'cluster_outliers',
    schema: {
      type: 'object',
      properties: { outliers: { type: 'array', items: { type: 'integer', minimum: 1, maximum: count }, maxItems: count } },
      required: ['outliers'],
      additionalProperties: false,
    },
  };
}

/**
 * The verification prompt: each example is "an image of LABEL → LABEL" (its answer, so the per-message layout
 * has an assistant turn to give it), then the group. Images are references, as in every plan.
 */
export function verifyPlan<Image>(label: string, examples: readonly Image[], group: readonly Image[]): PromptPlan<Image> {
  return {
    kind: 'verify',
    system:
      `You check a group of images that should all show ${JSON.stringify(label)}. Labelled examples of it come first; ` +
      'then you say which images of the group do not show it, by their numbers.',
    examples: examples.map((image) => ({ image, question: exampleQuestion(label), answer: label })),
    question: verifyQuestion(label, group.length),
    images: [...group],
    schema: verifySchema(group.length),
    // "[1, 2, …]" for a full group, with room to spare; a cut-short answer is a bad answer, never half a list.
    maxTokens: 16 + 4 * group.length,
  };
}

export type VerifyAnswer = { kind: 'outliers'; numbers: number[] } | { kind: 'bad_answer'; reason: string };

/**
 * Reads the answer strictly: an object whose `outliers` is an array of whole numbers 1..count (a number
 * twice counts once). Anything else — a number out of range, a fraction, a string, no array — is a bad answer
 * and nothing of it is used: a misnumbered list would mark the wrong images.
 */
export function parseVerifyAnswer(answer: Pick<VlmAnswer, 'text' | 'json'>, count: number): VerifyAnswer {
  let json = answer.json;
  if (json === undefined) {
    try {
      json = JSON.parse(answer.text);
    } catch {
      return bad(answer, 'is not JSON');
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return bad(answer, 'is not a JSON object');
  const outliers = (json as Record<string, unknown>).outliers;
  if (!Array.isArray(outliers)) return bad(answer, 'has no "outliers" array');
  const wrong = outliers.find((n) => typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > count);
  if (wrong !== undefined) return bad(answer, `names ${JSON.stringify(wrong)}, not an image number 1..${count}`);
  return { kind: 'outliers', numbers: [...new Set(outliers as number[])].sort((a, b) => a - b) };
}

function bad(answer: Pick<VlmAnswer, 'text'>, what: string): VerifyAnswer {
  const text = answer.text.length > 120 ? `${answer.text.slice(0, 120)}…` : answer.text;
  return { kind: 'bad_answer', reason: `the answer ${what}: ${JSON.stringify(text)}` };
}
