import type { BrowseFilter, SearchFilter } from '../../../src/session/protocol';

/**
 * The grid's filter box (`/`): words that narrow the list of all items, the rest a part of the path.
 *
 *   unlabeled · labeled · label:cat · tag:blurry · captioned · uncaptioned · anything else (path contains)
 *
 * An empty box means no filter: the grid shows the model's pages instead.
 *
 * @example
 * parseFilter('label:cat train/'); // { label: 'cat', uri: 'train/' }
 */
export function parseFilter(text: string): BrowseFilter | null {
  const filter: BrowseFilter = {};
  const rest: string[] = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const lower = word.toLowerCase();
    if (lower === 'unlabeled' || lower === 'unlabelled') filter.label = null;
    else if (lower === 'labeled' || lower === 'labelled') filter.labeled = true;
    else if (lower === 'captioned') filter.hasCaption = true;
    else if (lower === 'uncaptioned') filter.hasCaption = false;
    else if (lower.startsWith('label:') && word.length > 6) filter.label = word.slice(6);
    else if (lower.startsWith('tag:') && word.length > 4) filter.tag = word.slice(4);
    else rest.push(word);
  }
  if (rest.length > 0) filter.uri = rest.join(' ');
  return Object.keys(filter).length > 0 ? filter : null;
}

/** The filter as the words that make it, for the box and for announcements. */
export function describeFilter(filter: BrowseFilter | null): string {
  if (!filter) return '';
  const words: string[] = [];
  if (filter.label === null) words.push('unlabeled');
  else if (filter.label !== undefined) words.push(`label:${filter.label}`);
  if (filter.labeled) words.push('labeled');
  if (filter.tag !== undefined) words.push(`tag:${filter.tag}`);
  if (filter.hasCaption === true) words.push('captioned');
  if (filter.hasCaption === false) words.push('uncaptioned');
  if (filter.uri !== undefined) words.push(filter.uri);
  return words.join(' ');
}

/**
 * The search box (`Q`): what to look for in plain language, narrowed by the same words as the filter where
 * the search can apply them in its query — unlabeled · label:cat · tag:x · split:val.
 *
 * @example
 * parseSearch('unlabeled a dog asleep on a sofa'); // { text: 'a dog asleep on a sofa', filter: { unlabeled: true } }
 */
export function parseSearch(input: string): { text: string; filter: SearchFilter | null } {
  const filter: SearchFilter = {};
  const rest: string[] = [];
  for (const word of input.trim().split(/\s+/).filter(Boolean)) {
    const lower = word.toLowerCase();
    if (lower === 'unlabeled' || lower === 'unlabelled') filter.unlabeled = true;
    else if (lower.startsWith('label:') && word.length > 6) filter.label = word.slice(6);
    else if (lower.startsWith('tag:') && word.length > 4) filter.tag = word.slice(4);
    else if (lower.startsWith('split:') && word.length > 6) filter.split = word.slice(6);
    else rest.push(word);
  }
  return { text: rest.join(' '), filter: Object.keys(filter).length > 0 ? filter : null };
}
