import { useEffect } from 'react';
import type { ClassView, ItemView } from '../../../src/session/protocol';
import { shortName } from '../client/notices';
import { PRIORITY } from '../client/image-loader';
import { useApp, useServices } from './app-context';
import { ContextImage, FocusStage, Thumb } from './item-image';
import { CaptionEditor, TagEditor } from './item-text';

const percent = (value: number) => `${Math.round(value * 100)}%`;

/** One item at a time: the large image, what the model suggests, the class keys, caption and tags. */
export function FocusView() {
  const app = useApp();
  const { store } = useServices();
  const [item, ...upcoming] = app.queue;

  useEffect(() => {
    if (item) store.wantNeighbors(item.id);
    if (upcoming[0]) store.wantNeighbors(upcoming[0].id);
  }, [store, item, upcoming[0]?.id]);

  const keyOf = (label: string) => app.classes.find((c) => c.name === label)?.key ?? null;
  const remaining = app.stats ? Math.max(0, app.stats.remaining - app.pendingLabels) : null;

  return (
    <section className="qs-focus" aria-label="Focus: one item at a time">
      <div className="qs-focus-main">
        <FocusStage item={item} upcoming={upcoming} />
        {!item && app.status === 'ready' && (
          <div className="qs-empty" role="status">
            <p>Nothing left in the queue.</p>
            <p className="qs-muted">Press g for the grid, or u to undo the last label.</p>
          </div>
        )}
        {item && <NeighborStrip item={item} neighbors={app.neighbors.get(item.id)} hasEmbeddings={app.stats?.hasEmbeddings ?? false} />}
      </div>
      <aside className="qs-side" aria-label="Item">
        {item && (
          <>
            <p className="qs-position" aria-label="Position in the queue">
              <span title={item.uri}>{shortName(item)}</span>
              <span className="qs-muted">
                {upcoming.length} ready{remaining !== null ? ` · ${remaining.toLocaleString()} to go` : ''}
              </span>
            </p>
            <Suggestion item={item} keyOf={keyOf} />
            {app.stats?.hasEmbeddings && (
              <button type="button" tabIndex={-1} className="qs-button qs-more-like" onClick={() => store.moreLikeThis(item.id)} title="The images nearest to this one, in the grid (Shift+M)">
                More like this <kbd>M</kbd>
              </button>
            )}
            <ClassKeys classes={app.classes} suggested={item.suggestion?.label ?? null} onPick={(name) => store.labelCurrent(name)} />
            {item.box && item.sourceUri && <ContextImage item={item} />}
            <CaptionEditor key={`caption-${item.id}`} item={item} />
            <TagEditor key={`tags-${item.id}`} item={item} />
          </>
        )}
      </aside>
    </section>
  );
}

function Suggestion({ item, keyOf }: { item: ItemView; keyOf: (label: string) => string | null }) {
  const suggestion = item.suggestion;
  if (!suggestion) {
    return (
      <section className="qs-suggestion" aria-label="Suggestion">
        <p className="qs-muted">No suggestion yet: press the key of the item's class.</p>
      </section>
    );
  }
  const fromVlm = item.labelSource === 'vlm';
  return (
    <section className="qs-suggestion" aria-label="Suggestion" data-source={fromVlm ? 'vlm' : 'head'}>
      {fromVlm && (
        <p className="qs-vlm-note">
          <span className="qs-vlm-badge">VLM</span> {item.labeledBy ?? 'a vision-language model'} suggests this
          {item.vlmExamples ? `, from ${item.vlmExamples.length} labelled examples` : ''} · <kbd>X</kbd> turns it down
        </p>
      )}
      <div className="qs-suggested">
        <kbd>Enter</kbd>
        <span className="qs-suggested-label">{suggestion.label}</span>
        <span className="qs-confidence">{percent(suggestion.confidence)}</span>
      </div>
      <div className="qs-meter" role="meter" aria-label="Confidence" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(suggestion.confidence * 100)}>
        <div style={{ width: percent(suggestion.confidence) }} />
      </div>
      {fromVlm && item.vlmExamples && item.vlmExamples.length > 0 && (
        <ul className="qs-vlm-examples" aria-label="The examples the VLM was shown">
          {item.vlmExamples.map((example) => (
            <li key={example.id} title={example.label ?? ''}>
              <Thumb item={{ id: example.id, problem: null }} size={64} priority={PRIORITY.next} alt={example.label ?? 'example'} />
              <span>{example.label}</span>
            </li>
          ))}
        </ul>
      )}
      {suggestion.alternatives.length > 0 && (
        <ol className="qs-alternatives" aria-label="Alternatives">
          {suggestion.alternatives.slice(0, 4).map((alternative) => (
            <li key={alternative.label}>
              <kbd>{keyOf(alternative.label) ?? '·'}</kbd>
              <span>{alternative.label}</span>
              <span className="qs-muted">{percent(alternative.confidence)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function ClassKeys({ classes, suggested, onPick }: { classes: readonly ClassView[]; suggested: string | null; onPick: (name: string) => void }) {
  if (classes.length === 0) return <p className="qs-muted">No classes yet: add them in Classes (Shift+A).</p>;
  return (
    <section aria-label="Classes and their keys">
      <ul className="qs-class-keys">
        {classes.map((c) => (
          <li key={c.name}>
            <button type="button" tabIndex={-1} className={c.name === suggested ? 'qs-class-key is-suggested' : 'qs-class-key'} onClick={() => onPick(c.name)} aria-label={`Label ${c.name}${c.key ? ` (key ${c.key})` : ''}`}>
              {c.key && <kbd>{c.key}</kbd>}
              <span>{c.name}</span>
              <span className="qs-count">{c.count}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NeighborStrip({ item, neighbors, hasEmbeddings }: { item: ItemView; neighbors: readonly ItemView[] | undefined; hasEmbeddings: boolean }) {
  if (!hasEmbeddings) return null;
  return (
    <section className="qs-strip" aria-label="Nearest labeled examples">
      <h3 className="qs-strip-title">Nearest labeled</h3>
      {neighbors && neighbors.length === 0 && <p className="qs-muted">None labeled yet.</p>}
      <ul>
        {(neighbors ?? []).map((neighbor) => (
          <li key={neighbor.id} title={neighbor.uri}>
            <Thumb item={neighbor} size={128} priority={PRIORITY.next} alt={`${neighbor.label ?? 'unlabeled'}: ${shortName(neighbor)}`} />
            <span>{neighbor.label}</span>
          </li>
        ))}
      </ul>
      <span className="qs-sr-only">for {shortName(item)}</span>
    </section>
  );
}
