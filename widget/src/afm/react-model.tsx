import { createContext, useCallback, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { AfmModel } from './model';

/**
 * React over the AFM model, after anywidget's `@anywidget/react` (createRender + useModelState on
 * useSyncExternalStore): synced state reads as a hook and re-renders on `change:<key>`.
 */
const ModelContext = createContext<AfmModel | null>(null);

export function ModelProvider({ model, children }: { model: AfmModel; children: ReactNode }) {
  return <ModelContext.Provider value={model}>{children}</ModelContext.Provider>;
}

export function useModel(): AfmModel {
  const model = useContext(ModelContext);
  if (!model) throw new Error('quicksort-widget: useModel() outside the app; render the app through its AFM render()');
  return model;
}

/** A synced value of the model and its setter (set + save_changes), like React's useState. */
export function useModelState<T>(key: string): [T | undefined, (value: T) => void] {
  const model = useModel();
  const value = useSyncExternalStore(
    (update) => {
      model.on(`change:${key}`, update);
      return () => model.off(`change:${key}`, update);
    },
    () => model.get(key) as T | undefined,
  );
  const setValue = useCallback(
    (next: T) => {
      model.set(key, next);
      model.save_changes();
    },
    [model, key],
  );
  return [value, setValue];
}
