import { useEffect } from 'react';
import { useApp, useServices } from './app-context';
import { LearningCurve } from './learning-curve';
import { TextModelPanel } from './text-model-status';
import { VlmPanel } from './vlm-status';

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);

/** How far along: labeled and remaining, pace, accepted suggestions, background work, the learning curve. */
export function StatsView() {
  const app = useApp();
  const { store } = useServices();
  // Fresh numbers while this view is open.
  useEffect(() => {
    store.requestStats();
    const timer = setInterval(() => store.requestStats(), 5000);
    return () => clearInterval(timer);
  }, [store]);

  const stats = app.stats;
  if (!stats) return <p className="qs-muted">Waiting for the engine…</p>;
  const done = stats.items > 0 ? (stats.items - stats.remaining) / stats.items : 0;
  const figures: [string, string][] = [
    ['Labeled', stats.labeled.toLocaleString()],
    ['Remaining', stats.remaining.toLocaleString()],
    ['Skipped', stats.skipped.toLocaleString()],
    ["Don't know", stats.dontKnow.toLocaleString()],
    ['Labels this session', stats.sessionLabels.toLocaleString()],
    ['Labels per minute', stats.labelsPerMinute === null ? '—' : stats.labelsPerMinute.toFixed(1)],
    ['Suggestions accepted', percent(stats.acceptedRate)],
    ['Model accuracy (last 200)', percent(stats.headAccuracy)],
  ];
  return (
    <section className="qs-stats" aria-label="Stats">
      <div className="qs-progress-line">
        <div className="qs-progress" role="progressbar" aria-label="Items done" aria-valuemin={0} aria-valuemax={stats.items} aria-valuenow={stats.items - stats.remaining}>
          <div style={{ width: `${done * 100}%` }} />
        </div>
        <span>
          {(stats.items - stats.remaining).toLocaleString()} of {stats.items.toLocaleString()} done
        </span>
      </div>
      <dl className="qs-figures">
        {figures.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <h3>Learning curve</h3>
      <LearningCurve points={stats.curve} />
      {!stats.hasEmbeddings && <p className="qs-muted">No embeddings for this dataset: items come in order and there are no suggestions. Run `quicksort embed` to add them.</p>}
      <h3>Text model</h3>
      <TextModelPanel state={app.textModel} />
      <h3>VLM assist</h3>
      <VlmPanel state={app.vlm} />
      <h3>Background work</h3>
      {app.progress.size === 0 ? (
        <p className="qs-muted">Nothing running.</p>
      ) : (
        <ul className="qs-tasks">
          {[...app.progress].map(([task, { done: finished, total }]) => (
            <li key={task}>
              <span>{task}</span>
              <div className="qs-progress" role="progressbar" aria-label={task} aria-valuemin={0} aria-valuemax={total} aria-valuenow={finished}>
                <div style={{ width: `${total ? (100 * finished) / total : 0}%` }} />
              </div>
              <span className="qs-muted">
                {finished}/{total}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
