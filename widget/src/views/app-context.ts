import { createContext, useContext, useEffect, useSyncExternalStore, type RefObject } from 'react';
import type { AppSnapshot, AppStore, TextTarget } from '../client/app-store';
import type { ImageEntry, ImageLoader } from '../client/image-loader';

export interface AppSettings {
  /** Next items whose images are fetched and decoded ahead (0: only the current one). */
  imagePrefetch: number;
}

export interface AppServices {
  store: AppStore;
  images: ImageLoader;
  settings: AppSettings;
}

export const AppContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error('quicksort-widget: the app context is missing');
  return services;
}

/** The app's state; re-renders on every change. */
export function useApp(): AppSnapshot {
  const { store } = useServices();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

/** One image's entry; re-renders when it loads or fails. */
export function useImage(entry: ImageEntry | undefined): ImageEntry | undefined {
  const { images } = useServices();
  useSyncExternalStore(
    (update) => (entry ? images.subscribe(entry.key, update) : () => undefined),
    () => (entry ? entry.version : -1),
  );
  return entry;
}

/**
 * Puts the keyboard in this box when the app asks for it (C, T, /, Shift+Q…). Each request is taken once: a
 * box mounted later (the next item's caption box, a view shown again) does not take the keyboard back.
 */
export function useFocusRequest(target: TextTarget, box: RefObject<HTMLInputElement | HTMLTextAreaElement | null>, select = false): void {
  const { store } = useServices();
  const request = useApp().focusRequest;
  useEffect(() => {
    if (request?.target !== target || !box.current || !store.claimFocus(request.seq)) return;
    box.current.focus();
    if (select) box.current.select();
  }, [store, request, target, box, select]);
}
