import { commandFor, KEY_HELP, type KeyContext } from '../../widget/src/client/keymap';
import { describeFilter, parseFilter } from '../../widget/src/client/filter';

const classKeys = new Map([
  ['1', 'cat'],
  ['2', 'dog'],
  ['0', 'fish'],
  ['a', 'ant'],
]);
const focus: KeyContext = { view: 'focus', classKeys, inText: false };
const grid: KeyContext = { view: 'grid', classKeys, inText: false };

describe('the keyboard', () => {
  it('labels with class keys, accepts with Enter, and knows the app keys', () => {
    expect(commandFor({ key: '1' }, focus)).toEqual({ kind: 'label', label: 'cat' });
    expect(commandFor({ key: '0' }, focus)).toEqual({ kind: 'label', label: 'fish' });
    expect(commandFor({ key: 'a' }, focus)).toEqual({ kind: 'label', label: 'ant' });
    expect(commandFor({ key: '7' }, focus)).toBeNull();
    expect(commandFor({ key: 'Enter' }, focus)).toEqual({ kind: 'accept' });
    expect(commandFor({ key: '?', shiftKey: true }, focus)).toEqual({ kind: 'dont_know' });
    expect(commandFor({ key: '/' }, focus)).toEqual({ kind: 'filter' });
    expect(commandFor({ key: 'g' }, focus)).toEqual({ kind: 'toggle_grid' });
    expect(commandFor({ key: 'h' }, focus)).toEqual({ kind: 'help' });
    expect(commandFor({ key: 'C', shiftKey: true }, focus)).toEqual({ kind: 'caption' });
    expect(commandFor({ key: 'T', shiftKey: true }, focus)).toEqual({ kind: 'tags' });
    expect(commandFor({ key: 'Q', shiftKey: true }, focus)).toEqual({ kind: 'search' });
    expect(commandFor({ key: 'M', shiftKey: true }, focus)).toEqual({ kind: 'more_like_this' });
    expect(commandFor({ key: 'X', shiftKey: true }, focus)).toEqual({ kind: 'reject_vlm' });
    // Typed into a text box, the same keys are letters.
    expect(commandFor({ key: 'Q', shiftKey: true }, { ...focus, inText: true })).toBeNull();
  });

  it('undoes with Backspace, u, left arrow, Ctrl+Z and Cmd+Z; redoes with Shift+Ctrl+Z and Ctrl+Y', () => {
    for (const input of [{ key: 'Backspace' }, { key: 'u' }, { key: 'ArrowLeft' }, { key: 'z', ctrlKey: true }, { key: 'z', metaKey: true }]) {
      expect(commandFor(input, focus)).toEqual({ kind: 'undo' });
    }
    expect(commandFor({ key: 'Z', ctrlKey: true, shiftKey: true }, focus)).toEqual({ kind: 'redo' });
    expect(commandFor({ key: 'y', ctrlKey: true }, focus)).toEqual({ kind: 'redo' });
    expect(commandFor({ key: 'ArrowRight' }, focus)).toEqual({ kind: 'skip' });
  });

  it('moves and selects in the grid', () => {
    expect(commandFor({ key: 'ArrowDown' }, grid)).toEqual({ kind: 'move', dx: 0, dy: 1, extend: false });
    expect(commandFor({ key: 'ArrowLeft', shiftKey: true }, grid)).toEqual({ kind: 'move', dx: -1, dy: 0, extend: true });
    expect(commandFor({ key: ' ' }, grid)).toEqual({ kind: 'toggle_select' });
    expect(commandFor({ key: 'a', ctrlKey: true }, grid)).toEqual({ kind: 'select_all' });
    expect(commandFor({ key: '2' }, grid)).toEqual({ kind: 'label', label: 'dog' });
    expect(commandFor({ key: 'a', ctrlKey: true }, focus)).toBeNull();
  });

  it('leaves text boxes alone except Esc and Ctrl/Cmd+Enter, and leaves browser shortcuts alone', () => {
    const text = { ...focus, inText: true };
    expect(commandFor({ key: '1' }, text)).toBeNull();
    expect(commandFor({ key: 'Backspace' }, text)).toBeNull();
    expect(commandFor({ key: 'Enter' }, text)).toBeNull();
    expect(commandFor({ key: 'Escape' }, text)).toEqual({ kind: 'leave_text' });
    expect(commandFor({ key: 'Enter', metaKey: true }, text)).toEqual({ kind: 'commit_text' });
    expect(commandFor({ key: 's', ctrlKey: true }, focus)).toBeNull();
    expect(commandFor({ key: '1', altKey: true }, focus)).toBeNull();
  });

  it('never binds a class key to an app command: the engine leaves g, h and u free', () => {
    const appKeys = new Set(['g', 'h', 'u']);
    for (const letter of 'abcdefijklmnopqrstvwxyz') expect(appKeys.has(letter)).toBe(false);
    expect(KEY_HELP.map((row) => row.keys).join(' ')).toMatch(/Enter.*Backspace.*\?.*g.*\/.*Esc.*h/s);
  });
});

describe('the grid filter', () => {
  it('reads words and a path part, and writes them back', () => {
    expect(parseFilter('')).toBeNull();
    expect(parseFilter('  ')).toBeNull();
    expect(parseFilter('unlabeled')).toEqual({ label: null });
    expect(parseFilter('label:cat train/')).toEqual({ label: 'cat', uri: 'train/' });
    expect(parseFilter('labeled tag:blurry captioned')).toEqual({ labeled: true, tag: 'blurry', hasCaption: true });
    expect(parseFilter('uncaptioned')).toEqual({ hasCaption: false });
    for (const text of ['unlabeled', 'label:cat train/', 'labeled tag:blurry captioned']) expect(describeFilter(parseFilter(text))).toBe(text);
  });
});
