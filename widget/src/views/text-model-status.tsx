import type { TextModelState } from '../../../src/session/protocol';

/** The text model in a few words, for the header: what search and caption suggestions stand on. */
export function TextModelBadge({ state }: { state: TextModelState | null }) {
  if (!state || state.status === 'none') return null;
  const text =
    state.status === 'training'
      ? `text model: training ${state.epoch}/${state.epochs}`
      : state.status === 'ready'
        ? state.tower === 'embedding-model'
          ? 'search ready (zero-shot)'
          : 'search ready'
        : 'text model failed';
  return (
    <span className={`qs-text-badge is-${state.status}`} data-text-model={state.status} title={describeTextModel(state)}>
      {text}
    </span>
  );
}

/** The text model in the stats panel: its state, the training's progress and loss. */
export function TextModelPanel({ state }: { state: TextModelState | null }) {
  if (!state) return <p className="qs-muted">This engine has no text search.</p>;
  return (
    <div className="qs-text-model" data-text-model={state.status}>
      <p>{describeTextModel(state)}</p>
      {state.status === 'training' && (
        <div className="qs-progress-line">
          <div className="qs-progress" role="progressbar" aria-label="Text model training" aria-valuemin={0} aria-valuemax={state.epochs} aria-valuenow={state.epoch}>
            <div style={{ width: `${state.epochs ? (100 * state.epoch) / state.epochs : 0}%` }} />
          </div>
          <span>
            epoch {state.epoch} of {state.epochs}
            {state.loss !== null ? ` · loss ${state.loss.toFixed(3)}` : ''}
          </span>
        </div>
      )}
    </div>
  );
}

function describeTextModel(state: TextModelState): string {
  switch (state.status) {
    case 'none':
      // The engine's reason says it all ("no text model yet: add captions…").
      return state.reason.charAt(0).toUpperCase() + state.reason.slice(1);
    case 'training':
      return `Training on the captions: epoch ${state.epoch} of ${state.epochs}. Search uses the previous model, if any, until it is done.`;
    case 'ready': {
      const model = state.imageModel ? ` of ${state.imageModel}` : '';
      const how =
        state.tower === 'embedding-model'
          ? `Zero-shot: the embedding model's own text tower${model} answers, trained on no captions; captions train adapters on it.`
          : `${state.tower === 'adapted' ? `Adapters on the two towers${model}` : 'Trained'} on ${state.captions.toLocaleString()} captions of ${state.images.toLocaleString()} images${state.trainedAt ? ` (${new Date(state.trainedAt).toLocaleString()})` : ''}.`;
      return `${how} Search with Shift+Q; captions of similar images show beside the caption box.`;
    }
    case 'failed':
      return `The last training failed: ${state.reason}`;
  }
}
