import type { VlmStateView } from '../../../src/session/protocol';
import { useServices } from './app-context';

/** The VLM assist in the header, while it asks. */
export function VlmBadge({ state }: { state: VlmStateView | null }) {
  if (!state || state.status !== 'asking') return null;
  return (
    <span className="qs-text-badge is-training" data-vlm="asking" title={`${state.model} is looking at the hard cases`}>
      VLM asking…
    </span>
  );
}

/** The VLM assist in the stats panel: what it did in this session and what it cost on the dataset. */
export function VlmPanel({ state }: { state: VlmStateView | null }) {
  const { store } = useServices();
  if (!state) return <p className="qs-muted">This engine has no VLM assist.</p>;
  if (state.status === 'off') return <p className="qs-muted" data-vlm="off">Off: {state.reason}</p>;
  const cost = state.cost;
  return (
    <div className="qs-vlm" data-vlm={state.status}>
      <p>
        {state.model} {state.status === 'asking' ? 'is asking about the hard cases now' : 'is idle'}: {state.asked} items answered, {state.stored} suggestions stored, {state.failed} failed in this session.
        {state.lastError ? ` Last error: ${state.lastError}` : ''}
      </p>
      {state.verified && state.verified.length > 0 && (
        <ul className="qs-vlm-verified" aria-label="Cluster verifications">
          {state.verified.map((check) => (
            <li key={`${check.label}:${check.tag}`}>
              <span>
                Predicted <b>{check.label}</b>: {check.outliers} of {check.sampled} sampled look wrong to the VLM
              </span>
              {check.outliers > 0 && (
                <button type="button" tabIndex={-1} className="qs-button" onClick={() => store.setFilter(`tag:${check.tag}`)} title={`The grid filtered by tag:${check.tag}`}>
                  Show them
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {cost && (
        <p className="qs-muted">
          On this dataset: {cost.requests.toLocaleString()} requests, {cost.images.toLocaleString()} images, {(cost.promptTokens + cost.completionTokens).toLocaleString()} tokens, {cost.seconds.toFixed(1)} s, {cost.cacheHits.toLocaleString()} answers from the cache.
        </p>
      )}
    </div>
  );
}
