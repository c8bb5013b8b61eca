import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AppSnapshot, AppStore } from '../client/app-store';
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
