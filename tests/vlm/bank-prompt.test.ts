import { ActiveLearner } from '../../src/learn';
import { LabelStore } from '../../src/store';
import { DemonstrationBank, labelSchema, parseCaptionAnswer, parseLabelAnswer, planDigest, labelPlan } from '../../src/vlm';

/** A store of `n` items whose embeddings are given: 2-D points, so who is near whom is plain to see. */
function storeWith(points: [number, number][]): { store: LabelStore; embeddings: { ids: number[]; dim: number; vectors: Float32Array } } {
  const store = LabelStore.open(':memory:');
  const ids = store.upsertItems(
    points.map((_, i) => ({ uri: `${i}.png`, width: 8, height: 8, format: 'png', bytes: 1, hash: `h${i}`, split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null, mtimeMs: 0 })),
  );
  return { store, embeddings: { ids, dim: 2, vectors: Float32Array.from(points.flat()) } };
}

describe('the demonstration bank', () => {
  it("takes the nearest labelled items, one of each of the head's top classes, at most a cap of one class", () => {
    // Eight 'a' items around (1, 0), two 'b' around (0, 1), one 'c' at (-1, 0); the query at (0.9, 0.2).
    const points: [number, number][] = [[1, 0.05], [1, 0.1], [1, 0.15], [1, 0.2], [1, -0.05], [1, -0.1], [1, -0.15], [1, -0.2], [0.05, 1], [-0.05, 1], [-1, 0], [0.9, 0.2]];
    const { store, embeddings } = storeWith(points);
    const ids = embeddings.ids;
    ids.slice(0, 8).forEach((id) => store.act(id, { kind: 'label', label: 'a' }));
    ids.slice(8, 10).forEach((id) => store.act(id, { kind: 'label', label: 'b' }));
    store.act(ids[10]!, { kind: 'label', label: 'c' });
    const query = ids[11]!;
    const bank = DemonstrationBank.build(store, embeddings);
    expect(bank.size).toBe(11);
    const demos = bank.retrieve(query, 6, { perClassCap: 3, candidateClasses: 3 });
    const labels = demos.map((d) => d.label);
    expect(labels.filter((l) => l === 'a')).toHaveLength(3);
    expect(labels).toContain('b');
    expect(labels).toContain('c');
    // Nearest last, and the query itself never among them.
    expect(demos.at(-1)!.label).toBe('a');
    expect(demos.map((d) => d.similarity)).toEqual([...demos.map((d) => d.similarity)].sort((x, y) => x - y));
    expect(demos.map((d) => d.id)).not.toContain(query);
    expect(bank.vote(demos)).toMatchObject({ label: 'a', votes: 3 });
    expect(bank.randomDemonstrations(query, 4)).toHaveLength(4);
    store.close();
  });

  it("reads a session's learner as it is: the same demonstrations, the learner not changed", () => {
    const { store, embeddings } = storeWith([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.8, 0.3]]);
    const [a1, a2, b1, b2, query] = embeddings.ids as [number, number, number, number, number];
    const learner = new ActiveLearner(embeddings);
    for (const [id, label] of [[a1, 'a'], [a2, 'a'], [b1, 'b'], [b2, 'b']] as const) {
      store.act(id, { kind: 'label', label });
      learner.learn(id, label);
    }
    const before = learner.head.exportWeights().weights.slice();
    const bank = DemonstrationBank.fromLearner(store, learner);
    expect(bank.retrieve(query, 2).map((d) => d.id)).toEqual(DemonstrationBank.build(store, embeddings).retrieve(query, 2).map((d) => d.id));
    expect(bank.hardest([query], 1)).toHaveLength(1);
    expect(learner.head.exportWeights().weights).toEqual(before);
    expect(learner.probabilities).toBeUndefined();
    store.close();
  });

  it('leaves out labels that are not a person\'s, and items without an embedding', () => {
    const { store, embeddings } = storeWith([[1, 0], [0, 1], [1, 1]]);
    store.act(embeddings.ids[0]!, { kind: 'label', label: 'a' }, { source: 'model' });
    store.act(embeddings.ids[1]!, { kind: 'label', label: 'b' });
    const bank = DemonstrationBank.build(store, { ids: embeddings.ids.slice(1), dim: 2, vectors: embeddings.vectors.slice(2) });
    expect(bank.size).toBe(1);
    expect(bank.has(embeddings.ids[0]!)).toBe(false);
    expect(bank.knownClasses().sort()).toEqual(['a', 'b']);
    store.close();
  });
});

describe('the prompts', () => {
  it('hold the answer to the known classes or "other: NAME"', () => {
    expect(labelSchema(['cat', 'dog']).schema).toEqual({
      type: 'object',
      properties: { label: { anyOf: [{ type: 'string', enum: ['cat', 'dog'] }, { type: 'string', pattern: '^other: .+' }] } },
      required: ['label'],
      additionalProperties: false,
    });
    const classes = ['cat', 'dog'];
    expect(parseLabelAnswer({ text: '{"label":"cat"}' }, classes)).toEqual({ kind: 'class', label: 'cat' });
    expect(parseLabelAnswer({ text: '', json: { label: 'Dog' } }, classes)).toEqual({ kind: 'class', label: 'dog' });
    expect(parseLabelAnswer({ text: '{"label":"other: fox"}' }, classes)).toEqual({ kind: 'new_class', name: 'fox' });
    expect(parseLabelAnswer({ text: '{"label":"other: cat"}' }, classes)).toEqual({ kind: 'class', label: 'cat' });
    expect(parseLabelAnswer({ text: '{"label":"zebra"}' }, classes)).toEqual({ kind: 'unknown_class', name: 'zebra' });
    expect(parseLabelAnswer({ text: 'a cat, I think' }, classes).kind).toBe('bad_answer');
    expect(parseCaptionAnswer({ text: '{"caption":"  a cat\\n on a mat "}' })).toEqual({ kind: 'caption', caption: 'a cat on a mat' });
    expect(parseCaptionAnswer({ text: '{"caption":""}' }).kind).toBe('bad_answer');
  });

  it('are cached by a digest of what shapes the answer: the images, their answers, the classes, how images are sent', () => {
    const plan = labelPlan(['cat', 'dog'], [{ image: 'h1', label: 'cat' }], 'h2');
    const sending = { maxImageSide: 448, layout: 'interleaved' };
    expect(planDigest(plan, sending)).toBe(planDigest(labelPlan(['cat', 'dog'], [{ image: 'h1', label: 'cat' }], 'h2'), sending));
    expect(planDigest(plan, sending)).not.toBe(planDigest(labelPlan(['cat', 'dog'], [{ image: 'h1', label: 'dog' }], 'h2'), sending));
    expect(planDigest(plan, sending)).not.toBe(planDigest(labelPlan(['cat', 'dog', 'fox'], [{ image: 'h1', label: 'cat' }], 'h2'), sending));
    expect(planDigest(plan, sending)).not.toBe(planDigest(plan, { ...sending, layout: 'per-message' }));
    expect(plan.examples[0]).toEqual({ image: 'h1', question: 'What is this image?', answer: '{"label":"cat"}' });
  });
});
