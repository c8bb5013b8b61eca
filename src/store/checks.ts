import { InvalidArgumentError } from '../errors';
import type { ActionSource, CaptionSource, EventKind, ItemAction } from './types';

// What the store accepts from its callers: users, sources, class names and actions, checked before a write.

export const ACTION_KINDS = new Set<EventKind>(['label', 'unlabel', 'skip', 'dont_know', 'caption', 'add_caption', 'remove_caption', 'tags', 'delete', 'restore']);
const SOURCES = new Set<ActionSource>(['human', 'model', 'vlm']);
export const CAPTION_SOURCES: readonly CaptionSource[] = ['human', 'import', 'model', 'vlm'];
/** A caption's most characters: a dense description is a paragraph, not a document. */
export const MAX_CAPTION_LENGTH = 10_000;
const MAX_CLASS_NAME = 200;

/** Whether `user` can be recorded as who acted: a name, not blank, of at most 200 characters. */
export function isUserName(user: unknown): user is string {
  return typeof user === 'string' && user.trim() !== '' && user.length <= 200;
}

export function checkUser(user: string): string {
  if (!isUserName(user)) {
    throw new InvalidArgumentError(`user must be a non-empty name of at most 200 characters; got ${JSON.stringify(user)}`);
  }
  return user;
}

export function checkSource(source: ActionSource): ActionSource {
  if (!SOURCES.has(source)) throw new InvalidArgumentError(`source must be one of human, model, vlm; got ${JSON.stringify(source)}`);
  return source;
}

export function checkConfidence(confidence: number | null): number | null {
  if (confidence !== null && !(confidence >= 0 && confidence <= 1)) {
    throw new InvalidArgumentError(`confidence must be a number from 0 to 1; got ${confidence}`);
  }
  return confidence;
}

export function checkClassName(name: unknown): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`a class name must be a string; got ${JSON.stringify(name)}`);
  const clean = name.trim();
  // eslint-disable-next-line no-control-regex
  if (clean === '' || clean.length > MAX_CLASS_NAME || /[\u0000-\u001f\u007f]/.test(clean)) {
    throw new InvalidArgumentError(
      `a class name must be 1–${MAX_CLASS_NAME} characters without control characters; got ${JSON.stringify(name)}`,
    );
  }
  return clean;
}

/** A caption's text as stored: trimmed (so the same caption typed or imported twice is the same), not empty. */
export function checkCaptionText(text: unknown): string {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === '' || trimmed.length > MAX_CAPTION_LENGTH) {
    throw new InvalidArgumentError(`a caption must be a non-empty string of at most ${MAX_CAPTION_LENGTH} characters; got ${JSON.stringify(typeof text === 'string' ? text.slice(0, 80) : text)}`);
  }
  return trimmed;
}

export function checkCaptionSource(source: unknown): CaptionSource {
  if (!CAPTION_SOURCES.includes(source as CaptionSource)) {
    throw new InvalidArgumentError(`a caption's source must be one of ${CAPTION_SOURCES.join(', ')}; got ${JSON.stringify(source)}`);
  }
  return source as CaptionSource;
}

/** Checks an action's fields and returns its payload as stored. */
export function validateAction(action: ItemAction): string {
  switch (action.kind) {
    case 'label':
      return JSON.stringify({ label: checkClassName(action.label) });
    case 'caption':
      if (action.caption !== null && typeof action.caption !== 'string') {
        throw new InvalidArgumentError(`a caption must be a string or null; got ${JSON.stringify(action.caption)}`);
      }
      return JSON.stringify({ caption: action.caption });
    case 'add_caption':
    case 'remove_caption': {
      const payload: Record<string, string> = { caption: checkCaptionText(action.caption) };
      if (action.source !== undefined) payload.source = checkCaptionSource(action.source);
      if (action.author !== undefined) {
        if (!isUserName(action.author)) throw new InvalidArgumentError(`a caption's author must be a non-empty name of at most 200 characters; got ${JSON.stringify(action.author)}`);
        payload.author = action.author;
      }
      return JSON.stringify(payload);
    }
    case 'tags': {
      if (!Array.isArray(action.tags) || action.tags.some((tag) => typeof tag !== 'string' || tag.trim() === '')) {
        throw new InvalidArgumentError(`tags must be a list of non-empty strings; got ${JSON.stringify(action.tags)}`);
      }
      return JSON.stringify({ tags: [...new Set(action.tags.map((tag) => tag.trim()))] });
    }
    case 'unlabel':
    case 'skip':
    case 'dont_know':
    case 'delete':
    case 'restore':
      return '{}';
    default:
      throw new InvalidArgumentError(
        `unknown action ${JSON.stringify((action as { kind: unknown }).kind)}; expected one of ${[...ACTION_KINDS].join(', ')}`,
      );
  }
}