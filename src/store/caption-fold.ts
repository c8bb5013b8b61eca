import type { CaptionSource, ItemCaption } from './types';

/**
 * The captions part of an item's fold ({@link foldItemState}): several captions per item, each with its source
 * and author, and the one the person sees (`caption`). Kept apart from the rest of the fold because its rules
 * are its own:
 * - `caption` (the person's own caption, what the app's editor sets) replaces what the same user set with the
 *   same source before, in place (editing does not reorder the list); null or '' takes it away;
 * - `add_caption` adds one at the end, unless the item has a caption of the same text from the same source
 *   already (so a file imported twice adds nothing the second time);
 * - `remove_caption` takes away the captions of that text (of that source and author, when given).
 * The item's `caption` is the one most recently set with `caption` that is still there, else the first.
 */
export class CaptionFold {
  private readonly captions: ItemCaption[] = [];
  private own: ItemCaption | null = null;

  setOwn(text: string | null, source: CaptionSource, author: string, time: number): void {
    const at = this.captions.findIndex((c) => c.source === source && c.author === author);
    const kept = this.captions.filter((c) => !(c.source === source && c.author === author));
    this.captions.length = 0;
    this.captions.push(...kept);
    if (text === null || text === '') return;
    const caption = { text, source, author, time };
    this.captions.splice(at === -1 ? this.captions.length : at, 0, caption);
    this.own = caption;
  }

  add(text: string, source: CaptionSource, author: string, time: number): void {
    if (this.captions.some((c) => c.text === text && c.source === source)) return;
    this.captions.push({ text, source, author, time });
  }

  remove(text: string, source: CaptionSource | undefined, author: string | undefined): void {
    const kept = this.captions.filter(
      (c) => !(c.text === text && (source === undefined || c.source === source) && (author === undefined || c.author === author)),
    );
    this.captions.length = 0;
    this.captions.push(...kept);
  }

  /** The folded captions and the caption the person sees. */
  finish(): { caption: string | null; captions: ItemCaption[] } {
    const shown = this.own && this.captions.includes(this.own) ? this.own : this.captions[0];
    return { caption: shown?.text ?? null, captions: this.captions.map((c) => ({ ...c })) };
  }
}
