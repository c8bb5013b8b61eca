import { SoftmaxHead } from '../../src/learn';
import { mulberry32 } from '../../src/random';

/*
 * A session refits its head now and then; with many classes that is seconds of work, so it runs in the
 * background beside the weights in use (SoftmaxHead.refitting) while labels keep arriving.
 */

const DIM = 12;
const random = mulberry32(11);
const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: DIM }, () => random() * 2 - 1));
/** A point near class c's centre. */
const near = (c: number) => Float32Array.from(centres[c]!, (v) => v + (random() - 0.5) * 0.4);
/** The labels every head here starts from: 60 points of three classes. */
const POINTS = Array.from({ length: 60 }, (_, i) => ({ x: near(i % 3), c: i % 3 }));

function trainedHead(): { head: SoftmaxHead } {
  const head = new SoftmaxHead(DIM, { seed: 4 });
  POINTS.forEach(({ x, c }, i) => head.learn(i + 1, x, `class-${c}`));
  return { head };
}

const weightsOf = (head: SoftmaxHead) => {
  const { classes, weights, bias } = head.exportWeights();
  return { classes, weights: [...weights], bias: [...bias] };
};

describe('refitting a head in use', () => {
  it('ends with the weights a full fit gives when nothing happens meanwhile', () => {
    const fitted = trainedHead().head;
    const refitted = trainedHead().head;
    fitted.fit();
    let steps = 0;
    const refit = refitted.refitting();
    let step = refit.next();
    for (; !step.done; step = refit.next()) steps++;
    expect(step.value).toBe(true);
    expect(steps).toBeGreaterThan(100);
    expect(weightsOf(refitted)).toEqual(weightsOf(fitted));
    expect(refitted.temperature).toBe(fitted.temperature);
  });

  it('keeps answering with the weights in use, learns meanwhile, and keeps what it learned', () => {
    const { head } = trainedHead();
    const before = weightsOf(head);
    const refit = head.refitting();
    for (let i = 0; i < 50; i++) refit.next();
    expect(weightsOf(head)).toEqual(before); // the refit works in buffers of its own
    // A label of a new class arrives half-way.
    const newcomer = near(3);
    head.learn(1000, newcomer, 'class-3');
    let step = refit.next();
    while (!step.done) step = refit.next();
    expect(step.value).toBe(true);
    expect(head.classes).toEqual(['class-0', 'class-1', 'class-2', 'class-3']);
    expect(head.suggest(newcomer)!.label).toBe('class-3');
    expect(head.suggest(near(1))!.label).toBe('class-1');
  });

  it('installs nothing when a label is forgotten meanwhile (undo finds the weights it expects)', () => {
    const { head } = trainedHead();
    head.learn(500, near(2), 'class-2');
    const refit = head.refitting();
    for (let i = 0; i < 20; i++) refit.next();
    const beforeUndo = weightsOf(head);
    head.forget(500);
    const afterUndo = weightsOf(head);
    expect(afterUndo).not.toEqual(beforeUndo);
    let step = refit.next();
    while (!step.done) step = refit.next();
    expect(step.value).toBe(false);
    expect(weightsOf(head)).toEqual(afterUndo);
    // And the next refit runs.
    const next = head.refitting().next();
    expect(next.done).toBe(false);
  });
});
