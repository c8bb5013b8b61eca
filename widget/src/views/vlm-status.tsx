import type { VlmStateView } from '../../../src/session/protocol';

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
  if (!state) return <p className="qs-muted">This engine has no VLM assist.</p>;
  if (state.status === 'off') return <p className="qs-muted" data-vlm="off">Off: {state.reason}</p>;
  const cost = state.cost;
  return (
    <div className="qs-vlm" data-vlm={state.status}>
      <p>
        {state.model} {state.status === 'asking' ? 'is asking about the hard cases now' : 'is idle'}: {state.asked} items answered, {state.stored} suggestions stored, {state.failed} failed in this session.
        {state.lastError ? ` Last error: ${state.lastError}` : ''}
      </p>
      {cost && (
        <p className="qs-muted">
          On this dataset: {cost.requests.toLocaleString()} requests, {cost.images.toLocaleString()} images, {(cost.promptTokens + cost.completionTokens).toLocaleString()} tokens, {cost.seconds.toFixed(1)} s, {cost.cacheHits.toLocaleString()} answers from the cache.
        </p>
      )}
    </div>
  );
}
