import { createTextModel, featuresOf, loadWordVectors, wordsOf } from '../../src/text';
import { fnv1a } from '../../src/text/tokenize';

describe('the text features', () => {
  const words = loadWordVectors();

  it('loads the bundled 50,000 × 100 word vectors once per process', () => {
    expect(words.words).toHaveLength(45_000);
    expect(words.dim).toBe(100);
    expect(words.vectors).toHaveLength(45_000 * 100);
    expect(words.words[0]).toBe('the'); // GloVe's frequency order
    expect(loadWordVectors()).toBe(words);
    // Nearest neighbours make sense: "dog" is closer to "puppy" than to "parliament".
    const row = (word: string) => words.vectors.subarray(words.rowOf.get(word)! * 100, (words.rowOf.get(word)! + 1) * 100);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    expect(cos(row('dog'), row('puppy'))).toBeGreaterThan(cos(row('dog'), row('parliament')) + 0.3);
  });

  it('lowercases words of letters and digits', () => {
    expect(wordsOf("A Dog's 2 toys, on the SOFA!")).toEqual(['a', 'dog', 's', '2', 'toys', 'on', 'the', 'sofa']);
  });

  it('reads vocabulary rows for known words, hashed buckets for others, n-grams and bigrams', () => {
    const settings = { vocabularySize: words.words.length, buckets: 1024, minGram: 3, maxGram: 5, bigrams: true };
    const features = featuresOf('red zzqx', words.rowOf, settings);
    expect(features.words[0]).toBe(words.rowOf.get('red'));
    expect(features.words[1]).toBe(words.words.length + (fnv1a('w:zzqx') % 1024));
    // "<red>": 3 trigrams + 2 four-grams (the whole "<red>" is not a subword); "<zzqx>": 4 + 3 + 2; one bigram.
    expect(features.subwords).toHaveLength(3 + 2 + 4 + 3 + 2 + 1);
    for (const row of features.subwords) {
      expect(row).toBeGreaterThanOrEqual(words.words.length);
      expect(row).toBeLessThan(words.words.length + 1024);
    }
    expect(featuresOf('red zzqx', words.rowOf, settings)).toEqual(features);
  });

  it('encodes texts into unit rows; an empty text is still a finite row', () => {
    const model = createTextModel(8, { jointDim: 16, buckets: 256 });
    const encoded = model.encodeText(['a red car', '', 'a red car']);
    expect(encoded).toHaveLength(48);
    expect(Math.hypot(...encoded.subarray(0, 16))).toBeCloseTo(1, 5);
    expect(encoded.subarray(16, 32).every(Number.isFinite)).toBe(true);
    expect(Array.from(encoded.subarray(32))).toEqual(Array.from(encoded.subarray(0, 16)));
  });
});
