import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useApp, useServices } from './app-context';

/** The classes, their keys and counts; new ones are added here (each gets the next free key). */
export function ClassesView() {
  const app = useApp();
  const { store } = useServices();
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const nameBox = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (app.focusRequest?.target === 'class' || app.view === 'classes') nameBox.current?.focus();
  }, [app.focusRequest, app.view]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return;
    store.addClass(name, key.trim() || undefined);
    setName('');
    setKey('');
  };
  const used = new Set(app.classes.map((c) => c.key).filter(Boolean));
  const total = app.classes.reduce((sum, c) => sum + c.count, 0);

  return (
    <section className="qs-classes" aria-label="Classes">
      <form className="qs-add-class" onSubmit={submit} aria-label="Add a class">
        <input ref={nameBox} aria-label="New class name" placeholder="new class name" value={name} onChange={(event) => setName(event.target.value)} />
        <input className="qs-key-input" aria-label="Its key (optional)" placeholder="key" maxLength={1} value={key} onChange={(event) => setKey(event.target.value)} />
        <button type="submit" className="qs-button is-primary" disabled={!name.trim() || (key !== '' && used.has(key))}>
          Add
        </button>
        {key !== '' && used.has(key) && <span className="qs-error-text">key {key} is taken</span>}
      </form>
      <table className="qs-table">
        <caption className="qs-sr-only">Classes with their keys and how many items carry them</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Class</th>
            <th scope="col" className="qs-number">Items</th>
            <th scope="col" className="qs-share">Share</th>
          </tr>
        </thead>
        <tbody>
          {app.classes.map((c) => (
            <tr key={c.name}>
              <td>{c.key ? <kbd>{c.key}</kbd> : <span className="qs-muted">—</span>}</td>
              <td>{c.name}</td>
              <td className="qs-number">{c.count.toLocaleString()}</td>
              <td className="qs-share">
                <div className="qs-bar-cell" style={{ width: total ? `${(100 * c.count) / total}%` : 0 }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {app.classes.length === 0 && <p className="qs-muted">No classes yet. Type a name and press Enter; classes get keys 1–9, 0, then letters.</p>}
    </section>
  );
}
