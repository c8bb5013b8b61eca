import { InvalidArgumentError } from '../errors';
import { ActiveLearner, type EmbeddingMatrix } from '../learn';
import { mulberry32 } from '../random';
import type { CaptionSource, ItemWithState, StoreReader } from '../store';

/** One labelled item chosen as a demonstration, with its cosine similarity to the query item. */
export interface Demonstration {
  id: number;
  label: string;
  similarity: number;
}

/** One captioned item chosen as a caption demonstration. */
export interface CaptionDemonstration {
  id: number;
  caption: string;
  similarity: number;
}

export interface RetrieveOptions {
  /** At most this many demonstrations of one class (default ⌈k/2⌉): a prompt of one class is a vote, not a choice. */
  perClassCap?: number;
  /** The head's top candidate classes that each get at least one demonstration, when they have one (default 3). */
  candidateClasses?: number;
}

export interface BankOptions {
  /** Seeds the head's training and the random demonstrations (default 1). */
  seed?: number;
}

/** The kNN majority vote of a set of demonstrations: the baseline ICL is measured against. */
export interface Vote {
  label: string;
  /** Demonstrations that voted for it. */
  votes: number;
  /** votes / demonstrations. */
  share: number;
}

/** Caption sources a person stands behind: their own, and imported ones (COCO's were written by people). */
const ACCEPTED_CAPTION_SOURCES: ReadonlySet<CaptionSource> = new Set(['human', 'import']);

/**
 * The retrieval bank of the VLM assist: every human label of an embedded item (learned by an
 * {@link ActiveLearner}, whose centred unit rows the similarities are measured on and whose softmax head names
 * the candidate classes) and every accepted caption. For an item it picks the demonstrations of a few-shot
 * prompt: its nearest labelled neighbours, at least one example of each of the head's top candidate
 * classes (so the model can tell them apart, not merely copy the neighbourhood), and at most a cap of one
 * class. Built once per run from the store as it is; labels written later are not in it.
 *
 * @example
 * const bank = DemonstrationBank.build(store, loadEmbeddings(root, { store }));
 * const demos = bank.retrieve(itemId, 8);
 * const baseline = bank.vote(demos); // { label, votes, share }
 */
export class DemonstrationBank {
  private readonly learner: ActiveLearner;
  /** Rows of the labelled items, and their labels, in the learner's matrix. */
  private readonly labelledRows: Int32Array;
  private readonly labelledClass: Int32Array;
  private readonly classNames: string[] = [];
  private readonly rowOfId: ReadonlyMap<number, number>;
  private captioned: { row: number; id: number; caption: string }[] | undefined;
  private readonly random: () => number;

  private constructor(
    private readonly store: StoreReader,
    learner: ActiveLearner,
    /** The learner is the bank's own (it learns the labels, and may re-score); else a session's, only read. */
    private readonly ownLearner: boolean,
    seed: number,
  ) {
    this.learner = learner;
    // The learner's own index of rows: a session's bank is made every round, and a copy costs a pass over every item.
    this.rowOfId = learner.rowsById;
    this.random = mulberry32(seed ^ 0x1c1);
    const rows: number[] = [];
    const classes: number[] = [];
    for (const item of store.iterateSettledItems()) {
      if (!isHumanLabelled(item)) continue;
      const row = this.rowOfId.get(item.id);
      if (row === undefined) continue; // not embedded: it cannot be retrieved
      if (ownLearner) this.learner.learn(item.id, item.label!);
      rows.push(row);
      classes.push(this.classIndex(item.label!));
    }
    this.labelledRows = Int32Array.from(rows);
    this.labelledClass = Int32Array.from(classes);
    // The online steps saw the labels in id order; one full fit weighs them all alike.
    if (ownLearner && rows.length > 0) this.learner.head.fit();
  }

  /** A bank with a learner of its own, trained here on every human label of an embedded item. */
  static build(store: StoreReader, embeddings: EmbeddingMatrix, options: BankOptions = {}): DemonstrationBank {
    return new DemonstrationBank(store, new ActiveLearner(embeddings, { seed: options.seed }), true, options.seed ?? 1);
  }

  /**
   * A bank on a learner that knows the labels already (a labeling session's): its centred rows and its head
   * are used as they are, never changed — no second copy of the embeddings, no training. The labels are read
   * from the store (a person's, in effect now); the store and the learner should agree on them.
   */
  static fromLearner(store: StoreReader, learner: ActiveLearner, options: BankOptions = {}): DemonstrationBank {
    return new DemonstrationBank(store, learner, false, options.seed ?? 1);
  }

  /** Human-labelled items in the bank. */
  get size(): number {
    return this.labelledRows.length;
  }

  /** The classes a suggestion may name: every class of the store, and those of the bank. */
  knownClasses(): string[] {
    const names = new Set(this.store.classes().map((c) => c.name));
    for (const name of this.classNames) names.add(name);
    return [...names];
  }

  /** Whether the item has an embedding (only those can be retrieved for). */
  has(id: number): boolean {
    return this.rowOfId.has(id);
  }

  /**
   * The k demonstrations for an item, nearest last (closest to the question in the prompt): the nearest
   * example of each of the head's top candidate classes, then the nearest others, at most `perClassCap` of a class.
   */
  retrieve(id: number, k: number, options: RetrieveOptions = {}): Demonstration[] {
    checkK(k);
    if (k === 0 || this.size === 0) return [];
    const cap = options.perClassCap ?? Math.max(1, Math.ceil(k / 2));
    const similarities = this.similaritiesTo(this.rowFor(id));
    const order = Array.from(similarities.keys()).filter((i) => this.learner.matrix.ids[this.labelledRows[i]!] !== id);
    order.sort((a, b) => similarities[b]! - similarities[a]!);
    const chosen: number[] = [];
    const perClass = new Map<number, number>();
    const take = (i: number) => {
      chosen.push(i);
      perClass.set(this.labelledClass[i]!, (perClass.get(this.labelledClass[i]!) ?? 0) + 1);
    };
    for (const name of this.candidateClasses(id, Math.min(k, options.candidateClasses ?? 3))) {
      const c = this.classNames.indexOf(name);
      const nearest = order.find((i) => this.labelledClass[i] === c);
      if (nearest !== undefined && chosen.length < k) take(nearest);
    }
    for (const i of order) {
      if (chosen.length >= k) break;
      if (chosen.includes(i) || (perClass.get(this.labelledClass[i]!) ?? 0) >= cap) continue;
      take(i);
    }
    return chosen.map((i) => this.demonstration(i, similarities[i]!)).sort((a, b) => a.similarity - b.similarity);
  }

  /** k labelled items drawn at random (never the item itself): the control retrieval is measured against. */
  randomDemonstrations(id: number, k: number): Demonstration[] {
    checkK(k);
    const pool = Array.from(this.labelledRows.keys()).filter((i) => this.learner.matrix.ids[this.labelledRows[i]!] !== id);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const similarities = this.has(id) ? this.similaritiesTo(this.rowFor(id)) : undefined;
    return pool.slice(0, k).map((i) => this.demonstration(i, similarities?.[i] ?? 0));
  }

  /** The majority label of the demonstrations (ties: the larger summed similarity); null when there are none. */
  vote(demonstrations: readonly Demonstration[]): Vote | null {
    const tally = new Map<string, { votes: number; similarity: number }>();
    for (const demo of demonstrations) {
      const entry = tally.get(demo.label) ?? { votes: 0, similarity: 0 };
      entry.votes++;
      entry.similarity += demo.similarity;
      tally.set(demo.label, entry);
    }
    let best: [string, { votes: number; similarity: number }] | undefined;
    for (const entry of tally) {
      if (!best || entry[1].votes > best[1].votes || (entry[1].votes === best[1].votes && entry[1].similarity > best[1].similarity)) best = entry;
    }
    return best ? { label: best[0], votes: best[1].votes, share: best[1].votes / demonstrations.length } : null;
  }

  /** The head's most likely classes for an item, best first (none before the first label). */
  candidateClasses(id: number, count: number): string[] {
    if (count <= 0 || this.size === 0 || !this.has(id)) return [];
    const suggestion = this.learner.suggest(id);
    if (!suggestion) return [];
    return [suggestion.label, ...suggestion.alternatives.map((a) => a.label)].slice(0, count);
  }

  /**
   * Of the given items, the `limit` the head is least sure of: the smallest gap between its two most likely
   * classes (the head's hard cases, where a second opinion pays). Items without an embedding are left out.
   */
  hardest(ids: readonly number[], limit: number): { id: number; margin: number }[] {
    if (this.size === 0) return [];
    // A session's learner is re-scored by its own loop: the bank reads its latest scores, or asks its head.
    if (this.ownLearner) this.learner.rescore();
    const scored = this.learner.probabilities !== undefined;
    const margins: { id: number; margin: number }[] = [];
    for (const id of ids) {
      if (!this.has(id)) continue;
      const suggestion = scored ? this.learner.scoredSuggestion(id) : this.learner.suggest(id);
      if (!suggestion) continue;
      margins.push({ id, margin: suggestion.confidence - (suggestion.alternatives[0]?.confidence ?? 0) });
    }
    return margins.sort((a, b) => a.margin - b.margin || a.id - b.id).slice(0, limit);
  }

  /**
   * The items the head predicts as `label` (its most likely class) that a person has not labelled: the group a
   * cluster verification samples from. Deleted and "don't know" items, and items without an embedding, are left out.
   */
  predictedAs(label: string): number[] {
    if (this.size === 0) return [];
    if (this.ownLearner) this.learner.rescore();
    const scored = this.learner.probabilities !== undefined;
    const group: number[] = [];
    for (const item of this.store.iterateItems()) {
      if (isHumanLabelled(item) || item.dontKnow || !this.has(item.id)) continue;
      const suggestion = scored ? this.learner.scoredSuggestion(item.id) : this.learner.suggest(item.id);
      if (suggestion?.label === label) group.push(item.id);
    }
    return group;
  }

  /**
   * The k labelled items of a class most like the class as a whole (nearest its mean row), in id order: the
   * reference a cluster verification shows. Not the items nearest the ones asked about — those lean toward the
   * outliers themselves and would make them look as if they belonged.
   */
  typicalExamples(label: string, k: number): Demonstration[] {
    checkK(k);
    const c = this.classNames.indexOf(label);
    const members = Array.from(this.labelledRows.keys()).filter((i) => this.labelledClass[i] === c);
    if (c < 0 || k === 0 || members.length === 0) return [];
    const { vectors, dim } = this.learner.matrix;
    const mean = new Float64Array(dim);
    for (const i of members) for (let j = 0, offset = this.labelledRows[i]! * dim; j < dim; j++) mean[j] = mean[j]! + vectors[offset + j]!;
    const similarity = (i: number) => {
      let sum = 0;
      for (let j = 0, offset = this.labelledRows[i]! * dim; j < dim; j++) sum += vectors[offset + j]! * mean[j]!;
      return sum / members.length;
    };
    const scored = members.map((i) => ({ i, similarity: similarity(i) })).sort((a, b) => b.similarity - a.similarity || a.i - b.i);
    return scored.slice(0, k).map(({ i, similarity: s }) => this.demonstration(i, s)).sort((a, b) => a.id - b.id);
  }

  /** The k nearest items with an accepted caption (a person's, or imported), nearest last. */
  captionDemonstrations(id: number, k: number): CaptionDemonstration[] {
    checkK(k);
    const captioned = this.captionedRows();
    if (k === 0 || captioned.length === 0 || !this.has(id)) return [];
    const query = this.rowFor(id);
    const scored = captioned.filter((c) => c.id !== id).map((c) => ({ id: c.id, caption: c.caption, similarity: this.dotRows(query, c.row) }));
    scored.sort((a, b) => b.similarity - a.similarity);
    return scored.slice(0, k).reverse();
  }

  private captionedRows(): { row: number; id: number; caption: string }[] {
    if (!this.captioned) {
      this.captioned = [];
      for (const item of this.store.iterateItems({ hasCaption: true })) {
        const row = this.rowOfId.get(item.id);
        const accepted = item.captions.find((c) => ACCEPTED_CAPTION_SOURCES.has(c.source));
        if (row !== undefined && accepted) this.captioned.push({ row, id: item.id, caption: accepted.text });
      }
    }
    return this.captioned;
  }

  private similaritiesTo(row: number): Float32Array {
    const out = new Float32Array(this.labelledRows.length);
    for (let i = 0; i < out.length; i++) out[i] = this.dotRows(row, this.labelledRows[i]!);
    return out;
  }

  private dotRows(a: number, b: number): number {
    const { vectors, dim } = this.learner.matrix;
    let sum = 0;
    const offsetA = a * dim;
    const offsetB = b * dim;
    for (let j = 0; j < dim; j++) sum += vectors[offsetA + j]! * vectors[offsetB + j]!;
    return sum;
  }

  private rowFor(id: number): number {
    const row = this.rowOfId.get(id);
    if (row === undefined) throw new InvalidArgumentError(`item ${id} has no embedding of the bank's model; run \`quicksort embed\` first`);
    return row;
  }

  private demonstration(i: number, similarity: number): Demonstration {
    return { id: this.learner.matrix.ids[this.labelledRows[i]!]!, label: this.classNames[this.labelledClass[i]!]!, similarity };
  }

  private classIndex(name: string): number {
    const known = this.classNames.indexOf(name);
    if (known >= 0) return known;
    this.classNames.push(name);
    return this.classNames.length - 1;
  }
}

/** Labelled by a person and still in effect: the bank's ground truth. */
export function isHumanLabelled(item: ItemWithState): boolean {
  return item.label !== null && item.labelSource === 'human' && !item.deleted && !item.dontKnow;
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError(`k (demonstrations per prompt) must be a whole number ≥ 0; got ${k}`);
}
