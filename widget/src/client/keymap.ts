/**
 * The keyboard: which command a key means in which view. Pure, so the whole map is tested without a browser.
 * Class keys come from the engine (1–9, 0, then letters without g, h and u, which are the app's own);
 * commands other than classes use keys no class can have: symbols, arrows, and capitals.
 */
export type ViewName = 'focus' | 'grid' | 'classes' | 'stats';

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

export type Command =
  | { kind: 'label'; label: string }
  | { kind: 'accept' }
  | { kind: 'skip' }
  | { kind: 'dont_know' }
  | { kind: 'undo' }
  | { kind: 'redo' }
  | { kind: 'toggle_grid' }
  | { kind: 'view'; view: ViewName }
  | { kind: 'help' }
  | { kind: 'filter' }
  | { kind: 'search' }
  | { kind: 'more_like_this' }
  | { kind: 'reject_vlm' }
  | { kind: 'caption' }
  | { kind: 'tags' }
  | { kind: 'move'; dx: number; dy: number; extend: boolean }
  | { kind: 'toggle_select' }
  | { kind: 'select_all' }
  | { kind: 'escape' }
  | { kind: 'leave_text' }
  | { kind: 'commit_text' };

export interface KeyContext {
  view: ViewName;
  /** Class key → class name. */
  classKeys: ReadonlyMap<string, string>;
  /** The key went to a text box (caption, tags, filter, class name). */
  inText: boolean;
}

/** The command a key means here, or null when the app leaves the key alone. */
export function commandFor(input: KeyInput, context: KeyContext): Command | null {
  const mod = Boolean(input.ctrlKey || input.metaKey);
  const { key } = input;
  if (context.inText) {
    if (key === 'Escape') return { kind: 'leave_text' };
    if (key === 'Enter' && mod) return { kind: 'commit_text' };
    return null;
  }
  if (mod && !input.altKey) {
    const lower = key.toLowerCase();
    if (lower === 'z') return input.shiftKey ? { kind: 'redo' } : { kind: 'undo' };
    if (lower === 'y') return { kind: 'redo' };
    if (lower === 'a' && context.view === 'grid') return { kind: 'select_all' };
    return null; // Ctrl+S, Ctrl+C… stay the browser's (or JupyterLab's)
  }
  if (input.altKey) return null;
  const grid = context.view === 'grid';
  switch (key) {
    case 'Enter':
      return { kind: 'accept' };
    case 'Backspace':
    case 'u':
      return { kind: 'undo' };
    case '?':
      return { kind: 'dont_know' };
    case '/':
      return { kind: 'filter' };
    case 'g':
      return { kind: 'toggle_grid' };
    case 'h':
      return { kind: 'help' };
    case 'Escape':
      return { kind: 'escape' };
    case 'Q':
      return { kind: 'search' };
    case 'M':
      return { kind: 'more_like_this' };
    case 'X':
      return context.view === 'focus' ? { kind: 'reject_vlm' } : null;
    case 'C':
      return { kind: 'caption' };
    case 'T':
      return { kind: 'tags' };
    case 'S':
      return { kind: 'view', view: 'stats' };
    case 'A':
      return { kind: 'view', view: 'classes' };
    case 'F':
      return { kind: 'view', view: 'focus' };
    case ' ':
      return grid ? { kind: 'toggle_select' } : null;
    case 'ArrowRight':
      return grid ? { kind: 'move', dx: 1, dy: 0, extend: Boolean(input.shiftKey) } : { kind: 'skip' };
    case 'ArrowLeft':
      return grid ? { kind: 'move', dx: -1, dy: 0, extend: Boolean(input.shiftKey) } : { kind: 'undo' };
    case 'ArrowDown':
      return grid ? { kind: 'move', dx: 0, dy: 1, extend: Boolean(input.shiftKey) } : null;
    case 'ArrowUp':
      return grid ? { kind: 'move', dx: 0, dy: -1, extend: Boolean(input.shiftKey) } : null;
  }
  const label = context.classKeys.get(key);
  if (label !== undefined && (context.view === 'focus' || grid)) return { kind: 'label', label };
  return null;
}

/** The keys as the help overlay lists them. */
export const KEY_HELP: { keys: string; what: string }[] = [
  { keys: '1–9, 0, letters', what: 'label with the class on that key (in the grid: the selected items)' },
  { keys: 'Enter', what: 'accept the suggestion (in the grid: accept the page)' },
  { keys: '→', what: 'skip this item' },
  { keys: '← · Backspace · u · Ctrl/⌘+Z', what: 'undo' },
  { keys: 'Ctrl/⌘+Shift+Z · Ctrl/⌘+Y', what: 'redo' },
  { keys: '?', what: "don't know (in a grid page: leave the selected items out)" },
  { keys: 'g', what: 'grid ⇄ focus' },
  { keys: '/', what: 'filter the grid: unlabeled, labeled, label:cat, tag:x, captioned, or part of a path' },
  { keys: 'Shift+Q', what: 'search in plain language (“a dog on a sofa”; with unlabeled, label:cat, tag:x, split:val)' },
  { keys: 'Shift+M', what: 'more like this: the images nearest to this one (in the grid: the one under the cursor)' },
  { keys: 'Shift+X', what: "turn down the VLM's suggestion (the item stays unlabeled; Enter accepts it instead)" },
  { keys: 'arrows · Shift+arrows · Space · Ctrl/⌘+A', what: 'grid: move, extend the selection, select one, select all' },
  { keys: 'Shift+C · Shift+T', what: 'write the caption · add tags (in the grid: to the selected items, one undo)' },
  { keys: 'Shift+A · Shift+S · Shift+F', what: 'classes · stats · focus' },
  { keys: 'Esc', what: 'leave a text box, clear the selection, close this help' },
  { keys: 'h', what: 'this help' },
];
