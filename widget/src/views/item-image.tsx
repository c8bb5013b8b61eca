import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ItemView } from '../../../src/session/protocol';
import { PRIORITY, sizeBucket } from '../client/image-loader';
import { useImage, useServices } from './app-context';

/** Where an image could not be shown, and why: the person can still label the item (or skip it). */
export function Placeholder({ reason, compact = false }: { reason: string; compact?: boolean }) {
  return (
    <div className={compact ? 'qs-placeholder qs-placeholder-compact' : 'qs-placeholder'} role="img" aria-label={`Image unavailable: ${reason}`} title={reason}>
      <span className="qs-placeholder-icon" aria-hidden="true">⚠</span>
      {!compact && (
        <>
          <span className="qs-placeholder-title">Image unavailable</span>
          <span className="qs-placeholder-reason">{reason}</span>
        </>
      )}
    </div>
  );
}

/**
 * The focus image. The next items' images are fetched and decoded ahead; when the current item changes, its
 * decoded <img> is attached in a layout effect (before the browser paints), so the next image appears in the
 * frame that follows the keypress.
 */
export function FocusStage({ item, upcoming }: { item: ItemView | undefined; upcoming: readonly ItemView[] }) {
  const { images, settings } = useServices();
  const stage = useRef<HTMLDivElement>(null);
  const holder = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState(768);

  // One size for the stage, in steps and only growing: prefetched images stay the right size.
  useLayoutEffect(() => {
    const element = stage.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(([entry]) => {
      if (!entry) return;
      const pixels = Math.max(entry.contentRect.width, entry.contentRect.height) * (window.devicePixelRatio || 1);
      if (pixels > 0) setSize((current) => Math.max(current, sizeBucket(pixels)));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const entry = item && !item.problem ? images.entry(item.id, size) : undefined;
  useImage(entry);
  const version = entry?.version;
  const state = item?.problem ? 'error' : (entry?.state ?? 'empty');

  useLayoutEffect(() => {
    if (item && !item.problem) images.load(item.id, size, PRIORITY.current);
  }, [images, item, size]);

  const ahead = upcoming.slice(0, settings.imagePrefetch);
  const aheadKey = ahead.map((next) => next.id).join(',');
  useEffect(() => {
    for (const next of ahead) if (!next.problem) images.load(next.id, size, PRIORITY.next);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the ids say it all
  }, [images, aheadKey, size]);

  useLayoutEffect(() => {
    const box = holder.current;
    if (!box) return;
    const element = entry?.state === 'ready' ? entry.element : undefined;
    if (!element || !item) {
      box.replaceChildren();
      return;
    }
    // A decoded element shows at once; one already shown elsewhere is cloned (the clone shares the decode).
    const image = element.parentElement && element.parentElement !== box ? (element.cloneNode() as HTMLImageElement) : element;
    image.className = 'qs-stage-image';
    image.alt = `Image ${item.uri}`;
    image.draggable = false;
    if (box.firstChild !== image) box.replaceChildren(image);
    performance.mark?.('quicksort:image-shown', { detail: { itemId: item.id } });
  }, [entry, version, item]);

  const reason = item?.problem ?? (entry?.state === 'error' ? (entry.error ?? 'the image could not be loaded') : null);
  return (
    <div ref={stage} className="qs-stage" data-item-id={item?.id ?? ''} data-state={state}>
      <div ref={holder} className="qs-stage-holder" />
      {item && reason && <Placeholder reason={reason} />}
      {item && !reason && state !== 'ready' && (
        <div className="qs-loading" role="status">
          Loading…
        </div>
      )}
    </div>
  );
}

/** A small image (grid cell, neighbour strip), asked for while on screen and dropped from the queue when not. */
export function Thumb({ item, size, priority = PRIORITY.visible, alt }: { item: Pick<ItemView, 'id' | 'problem'>; size: number; priority?: number; alt: string }) {
  const { images } = useServices();
  const entry = item.problem ? undefined : images.entry(item.id, size);
  useImage(entry);
  useEffect(() => {
    if (item.problem) return;
    images.load(item.id, size, priority);
    return () => images.cancel(item.id, size);
  }, [images, item.id, item.problem, size, priority]);
  if (item.problem) return <Placeholder reason={item.problem} compact />;
  if (entry?.state === 'error') return <Placeholder reason={entry.error ?? 'the image could not be loaded'} compact />;
  if (entry?.state !== 'ready') return <div className="qs-thumb-wait" aria-hidden="true" />;
  return (
    <img
      className="qs-thumb-image"
      src={entry.url}
      alt={alt}
      width={entry.width}
      height={entry.height}
      decoding="async"
      draggable={false}
      onError={() => images.broken(entry)}
    />
  );
}

/** A crop cut from a larger image (COCO): that image, with the crop's box drawn on it. */
export function ContextImage({ item }: { item: ItemView }) {
  const { images } = useServices();
  const entry = images.entry(item.id, 384, true);
  useImage(entry);
  useEffect(() => {
    images.load(item.id, 384, PRIORITY.next, true);
  }, [images, item.id]);
  if (entry.state === 'error') return <p className="qs-muted">Context unavailable: {entry.error}</p>;
  if (entry.state !== 'ready' || !entry.contextBox) return <div className="qs-context qs-thumb-wait" aria-hidden="true" />;
  const [x, y, w, h] = entry.contextBox;
  const percent = (value: number, of: number) => `${(100 * value) / of}%`;
  return (
    <figure className="qs-context">
      <div className="qs-context-frame">
        <img src={entry.url} alt={`The whole image ${item.sourceUri ?? ''}`} width={entry.width} height={entry.height} draggable={false} />
        <div className="qs-context-box" style={{ left: percent(x, entry.width), top: percent(y, entry.height), width: percent(w, entry.width), height: percent(h, entry.height) }} aria-hidden="true" />
      </div>
      <figcaption>in {item.sourceUri}</figcaption>
    </figure>
  );
}
