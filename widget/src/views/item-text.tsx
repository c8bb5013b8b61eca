import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { ItemView } from '../../../src/session/protocol';
import { useApp, useFocusRequest, useServices } from './app-context';

/**
 * Multi-line caption: saved as an event when the box is left (Esc, Tab, a click elsewhere) or on Ctrl/⌘+Enter.
 * Beside it, the item's other captions (imported, other people's, model drafts) and captions of similar
 * images from the text model, each a click away from the box.
 */
export function CaptionEditor({ item }: { item: ItemView }) {
  const { store } = useServices();
  const app = useApp();
  const boxText = boxCaption(item);
  const [text, setText] = useState(boxText);
  const box = useRef<HTMLTextAreaElement>(null);
  const latest = useRef({ text, saved: boxText });
  latest.current.text = text;

  useFocusRequest('caption', box);
  // Changed from elsewhere (undo, another person) while not being edited here: show it.
  useEffect(() => {
    if (document.activeElement === box.current) return;
    latest.current.saved = boxText;
    setText(boxText);
  }, [boxText]);
  // Leaving this item with unsaved text (it was labeled from elsewhere) still saves it.
  useEffect(
    () => () => {
      if (latest.current.text !== latest.current.saved) store.setCaption(item.id, latest.current.text);
    },
    [store, item.id],
  );
  useEffect(() => store.wantCaptionSuggestions(item.id), [store, item.id, app.textModel?.status]);
  const save = () => {
    if (text === latest.current.saved) return;
    latest.current.saved = text;
    store.setCaption(item.id, text);
  };
  // Picked from a list: into the box and saved, as if typed.
  const use = (picked: string) => {
    const next = text.trim() === '' ? picked : `${text.trimEnd()}\n${picked}`;
    setText(next);
    latest.current.saved = next;
    store.setCaption(item.id, next);
  };
  const others = (item.captions ?? []).filter((caption) => caption.text !== boxText);
  const suggestions = (app.captionSuggestions.get(item.id) ?? []).filter((s) => s.text !== text.trim());
  return (
    <div className="qs-field">
      <label className="qs-field">
        <span className="qs-field-title">
          Caption <kbd>C</kbd>
        </span>
        <textarea ref={box} aria-label="Caption" rows={3} value={text} placeholder="Describe the image…" onChange={(event) => setText(event.target.value)} onBlur={save} />
      </label>
      {others.length > 0 && (
        <CaptionList
          title={`Other captions (${others.length})`}
          entries={others.map((c) => ({ text: c.text, note: c.source === 'human' ? c.author : c.source === 'vlm' ? `VLM draft · ${c.author} — use it to accept, edit it in the box` : `${c.source} · ${c.author}`, draft: c.source === 'vlm' }))}
          onUse={use}
          onReject={(text) => store.rejectVlm(item.id, text)}
        />
      )}
      {suggestions.length > 0 && <CaptionList title="From similar images" entries={suggestions.map((s) => ({ text: s.text, note: s.score.toFixed(2) }))} onUse={use} />}
    </div>
  );
}

/** What the caption box holds: the caption the person sees, unless that is a model's draft still to review (listed instead). */
function boxCaption(item: ItemView): string {
  const shown = item.captions?.find((caption) => caption.text === item.caption);
  return shown?.source === 'vlm' ? '' : (item.caption ?? '');
}

function CaptionList({ title, entries, onUse, onReject }: { title: string; entries: { text: string; note: string; draft?: boolean }[]; onUse: (text: string) => void; onReject?: (text: string) => void }) {
  return (
    <section className="qs-caption-list" aria-label={title}>
      <h4>{title}</h4>
      <ul>
        {entries.map((entry, index) => (
          <li key={`${index}:${entry.text}`} className={entry.draft ? 'is-draft' : undefined}>
            <button type="button" tabIndex={-1} title="Use this caption" onClick={() => onUse(entry.text)}>
              <span className="qs-caption-text">{entry.text}</span>
              <span className="qs-muted">{entry.note}</span>
            </button>
            {entry.draft && onReject && (
              <button type="button" tabIndex={-1} className="qs-reject" aria-label="Turn this draft down" title="Turn this draft down" onClick={() => onReject(entry.text)}>
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Tag chips: Enter or comma adds, Backspace in an empty box removes the last; each change is an event. */
export function TagEditor({ item }: { item: ItemView }) {
  const { store } = useServices();
  const app = useApp();
  const [draft, setDraft] = useState('');
  const box = useRef<HTMLInputElement>(null);
  const tags = app.items.get(item.id)?.tags ?? item.tags;

  useFocusRequest('tags', box);

  const add = () => {
    const tag = draft.trim().replace(/,$/, '');
    setDraft('');
    if (tag && !tags.includes(tag)) store.setTags(item.id, [...tags, tag]);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if ((event.key === 'Enter' && !event.ctrlKey && !event.metaKey) || event.key === ',') {
      event.preventDefault();
      add();
    } else if (event.key === 'Backspace' && draft === '' && tags.length > 0) {
      event.preventDefault();
      store.setTags(item.id, tags.slice(0, -1));
    }
  };
  return (
    <div className="qs-field">
      <span className="qs-field-title" id={`qs-tags-${item.id}`}>
        Tags <kbd>T</kbd>
      </span>
      <ul className="qs-tags" aria-labelledby={`qs-tags-${item.id}`}>
        {tags.map((tag) => (
          <li key={tag} className="qs-tag">
            <span>{tag}</span>
            <button type="button" tabIndex={-1} aria-label={`Remove tag ${tag}`} onClick={() => store.setTags(item.id, tags.filter((t) => t !== tag))}>
              ×
            </button>
          </li>
        ))}
        <li className="qs-tag-input">
          <input ref={box} aria-label="Add a tag" value={draft} placeholder="add a tag…" onChange={(event) => setDraft(event.target.value)} onKeyDown={onKeyDown} onBlur={add} />
        </li>
      </ul>
    </div>
  );
}
