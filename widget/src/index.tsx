/**
 * The QuickSort labeling app as an anywidget front-end module (AFM): `export default { render({ model, el }) }`.
 * It speaks only the session protocol (src/session/protocol.ts) through `model.send` and `msg:custom`, so the
 * same bundle runs in JupyterLab (the quicksort-widget extension, or anywidget) and in the standalone page of
 * `quicksort serve` (widget/src/standalone), which provides the same `model` over a WebSocket.
 *
 * Synced state it reads (all optional): `user` (who labels), `ui` (the view to restore: written back with
 * save_changes when it changes), `image_prefetch` (next images decoded ahead, default 4; 0 turns it off),
 * `prefetch` (items the engine keeps ready), `page_size` (grid page).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { AfmDefinition, AfmModel, RenderProps } from './afm/model';
import { AppStore, type UiState } from './client/app-store';
import { ImageLoader } from './client/image-loader';
import { SessionClient } from './client/session-client';
import { App } from './views/app';
import { AppContext } from './views/app-context';

function numberOption(model: AfmModel, key: string, fallback: number): number {
  const value = model.get(key);
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function render({ model, el }: RenderProps): () => void {
  const container = document.createElement('div');
  container.className = 'quicksort-app-root';
  el.appendChild(container);

  const client = new SessionClient(model);
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  let unsaved: UiState | undefined;
  const saveUi = () => {
    clearTimeout(saveTimer);
    saveTimer = undefined;
    if (!unsaved) return;
    const ui = unsaved;
    unsaved = undefined;
    model.set('ui', ui);
    model.save_changes();
  };
  const store = new AppStore(client, {
    user: typeof model.get('user') === 'string' ? (model.get('user') as string) : undefined,
    prefetch: numberOption(model, 'prefetch', 8),
    pageSize: numberOption(model, 'page_size', 40),
    ui: (model.get('ui') as Partial<UiState> | undefined) ?? undefined,
    // Written back a moment later, so a burst of labels is one state update, not one per key.
    onUiChange: (ui) => {
      unsaved = ui;
      clearTimeout(saveTimer);
      saveTimer = setTimeout(saveUi, 250);
    },
  });
  const images = new ImageLoader(client);
  const settings = { imagePrefetch: numberOption(model, 'image_prefetch', 4) };

  const root = createRoot(container);
  root.render(
    <StrictMode>
      <AppContext.Provider value={{ store, images, settings }}>
        <App />
      </AppContext.Provider>
    </StrictMode>,
  );
  store.start();

  return () => {
    // A view change made just before the page goes (g, then a reload) is still saved, not dropped.
    try {
      saveUi();
    } catch {
      // The model is gone already (a closed comm): nothing left to save to.
    }
    root.unmount();
    store.close();
    images.close();
    client.close();
    container.remove();
  };
}

const definition: AfmDefinition = { render };
export default definition;
