import sharp from 'sharp';
import { ImageError } from '../../src/errors';
import { decodeHalf, encodeHalf, loadManifest, planGeometry, planOutputSize, planPreprocess, DEFAULT_MODEL, type VisionSpec } from '../../src/embed';
import { preprocessImage } from '../../src/embed/preprocess/run-steps';
import { clampBox, normalizePixels, writeLayout, writeTensor, type PreprocessStep } from '../../src/embed/preprocess/steps';
import { normalizeVectors, poolOutput } from '../../src/embed/runtime/pooling';

const vision = loadManifest(DEFAULT_MODEL).vision;

/** A small vision spec: identity normalisation, so tensors hold pixel values / 255. */
function spec(overrides: Partial<VisionSpec> = {}): VisionSpec {
  return { ...vision, width: 8, height: 8, shortestSide: 8, mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 / 255, ...overrides };
}

/** Runs a plan on encoded bytes and returns the tensor as 0–255 values in RGB, NHWC (pixel-major). */
async function pixelsOf(bytes: Buffer, overrides: Partial<VisionSpec> = {}, box?: [number, number, number, number]): Promise<number[]> {
  const steps = planPreprocess(spec({ layout: 'NHWC', ...overrides }));
  const out = new Float32Array(planOutputSize(steps).floats);
  await preprocessImage({ bytes, box }, steps, out, 0);
  return Array.from(out, (v) => Math.round(v * 255));
}

function solid(width: number, height: number, channels: 1 | 2 | 3 | 4, values: number[]) {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = values[i % channels]!;
  return sharp(data, { raw: { width, height, channels } });
}

/** The distinct colours of an RGB tensor, as "r,g,b". */
function colours(values: number[]): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i < values.length; i += 3) set.add(values.slice(i, i + 3).join(','));
  return set;
}

describe('the preprocessing plan', () => {
  it('is an ordered list of small steps derived from the manifest', () => {
    expect(planPreprocess(vision).map((step) => step.op)).toEqual([
      'decode', 'orient', 'flatten-alpha', 'to-srgb', 'crop-box', 'resize-shortest-side', 'center-crop', 'normalize', 'layout',
    ]);
    expect(planPreprocess({ ...vision, resize: 'letterbox' }).map((s) => s.op)).toContain('letterbox');
    expect(planOutputSize(planPreprocess(vision))).toEqual({ width: 224, height: 224, floats: 3 * 224 * 224 });
  });

  it('resizes the shortest side to 256 then cuts the centre 224, as ImageNet models expect', () => {
    const stages = planGeometry(planPreprocess(vision), { width: 500, height: 333 }, null);
    expect(stages).toEqual([
      { op: 'resize-shortest-side', width: 384, height: 256, resize: { width: 384, height: 256, fit: 'fill', kernel: 'linear' } },
      { op: 'center-crop', width: 224, height: 224, extract: { left: 80, top: 16, width: 224, height: 224 } },
    ]);
  });

  it('cuts the item box first, clamped to the image', () => {
    const stages = planGeometry(planPreprocess(vision), { width: 640, height: 480 }, [600, 10.5, 100, 50]);
    // Rounded outwards to whole pixels (10.5 + 50 → 61), cut at the right edge.
    expect(stages[0]).toEqual({ op: 'crop-box', width: 40, height: 51, extract: { left: 600, top: 10, width: 40, height: 51 } });
    expect(stages[1]).toMatchObject({ width: 256, height: 326 });
    expect(clampBox([-5, -5, 2, 2], 10, 10)).toEqual({ left: 0, top: 0, width: 1, height: 1 });
  });

  it('normalises per channel and writes NCHW or NHWC, in RGB or BGR order', () => {
    const pixels = Uint8Array.from([255, 0, 51, 0, 255, 102]); // two pixels
    const step: Extract<PreprocessStep, { op: 'normalize' }> = { op: 'normalize', rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channelOrder: 'RGB' };
    const values = normalizePixels(pixels, step);
    expect(Array.from(values)).toEqual([1, -1, -0.6, -1, 1, -0.2].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(normalizePixels(pixels, { ...step, channelOrder: 'BGR' }))).toEqual([-0.6, -1, 1, -0.2, 1, -1].map((v) => expect.closeTo(v, 6)));
    const nchw = new Float32Array(8);
    writeLayout(values, 2, 1, 'NCHW', nchw, 2);
    expect(Array.from(nchw)).toEqual([0, 0, 1, -1, -1, 1, -0.6, -0.2].map((v) => expect.closeTo(v, 6)));
    // The fused pass the worker runs equals the two steps, in both layouts and orders.
    const random = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    for (const layout of ['NCHW', 'NHWC'] as const) {
      for (const channelOrder of ['RGB', 'BGR'] as const) {
        const twoSteps = new Float32Array(40);
        const fused = new Float32Array(40);
        writeLayout(normalizePixels(random, { ...step, channelOrder }), 4, 3, layout, twoSteps, 4);
        writeTensor(random, 4, 3, { ...step, channelOrder }, layout, fused, 4);
        expect(Array.from(fused)).toEqual(Array.from(twoSteps).map((v) => expect.closeTo(v, 6)));
      }
    }
  });
});

describe('decoding with sharp', () => {
  it('applies the EXIF orientation before cutting a box', async () => {
    // Stored 40×20, left half red, right half blue; orientation 6 shows it 20×40 with red on top.
    const data = Buffer.alloc(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) data[i * 3 + ((i % 40) < 20 ? 0 : 2)] = 255;
    const jpeg = await sharp(data, { raw: { width: 40, height: 20, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
    const top = await pixelsOf(jpeg, { resize: 'stretch' }, [2, 2, 16, 16]);
    const bottom = await pixelsOf(jpeg, { resize: 'stretch' }, [2, 22, 16, 16]);
    expect(top[0]).toBeGreaterThan(240);
    expect(top[2]).toBeLessThan(15);
    expect(bottom[0]).toBeLessThan(15);
    expect(bottom[2]).toBeGreaterThan(240);
  });

  it('turns greyscale, 16-bit, CMYK and transparent images into 8-bit sRGB', async () => {
    const grey = await solid(12, 12, 1, [100]).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect(colours(await pixelsOf(grey))).toEqual(new Set(['100,100,100']));

    const deep = await solid(12, 12, 3, [255, 128, 0]).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const deepValues = await pixelsOf(deep);
    expect(deepValues).toHaveLength(8 * 8 * 3);
    // 16 → 8 bits may round either way.
    deepValues.forEach((value, i) => expect(Math.abs(value - [255, 128, 0][i % 3]!)).toBeLessThanOrEqual(1));

    const cmyk = await solid(12, 12, 3, [0, 0, 255]).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const [r, g, b] = await pixelsOf(cmyk);
    // Pure blue is outside the CMYK gamut: it comes back a darker blue, still clearly blue.
    expect(b!).toBeGreaterThan(r! + 50);
    expect(b!).toBeGreaterThan(g! + 50);

    // Fully transparent black over the (white) background; grey+alpha too.
    const clear = await solid(12, 12, 4, [0, 0, 0, 0]).png().toBuffer();
    expect(colours(await pixelsOf(clear))).toEqual(new Set(['255,255,255']));
    const greyAlpha = await solid(12, 12, 2, [30, 0]).toColourspace('b-w').png().toBuffer();
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2);
    expect(colours(await pixelsOf(greyAlpha, { background: [0, 0, 90] }))).toEqual(new Set(['0,0,90']));
  });

  it('letterboxes with the background colour, keeping the aspect ratio', async () => {
    const wide = await solid(32, 8, 3, [200, 0, 0]).png().toBuffer();
    const values = await pixelsOf(wide, { resize: 'letterbox', background: [0, 255, 0] });
    const row = (y: number) => values.slice(y * 8 * 3, y * 8 * 3 + 3).join(',');
    expect(row(0)).toBe('0,255,0');
    expect(row(4)).toBe('200,0,0');
    expect(row(7)).toBe('0,255,0');
  });

  it('throws an ImageError naming the image for undecodable data', async () => {
    const steps = planPreprocess(spec());
    const out = new Float32Array(planOutputSize(steps).floats);
    await expect(preprocessImage({ bytes: Buffer.from('GIF89a garbage') }, steps, out, 0)).rejects.toThrow(ImageError);
    await expect(preprocessImage({ file: '/no/such/file.jpg' }, steps, out, 0)).rejects.toThrow(/cannot read \/no\/such\/file\.jpg/);
  });
});

describe('pooling and normalisation of model outputs', () => {
  it('averages feature maps over H and W, tokens under the mask, or takes the first token', () => {
    const map = Float32Array.from([1, 3, 5, 7, 0, 0, 0, 4]); // [1, 2, 2, 2]
    expect(poolOutput(map, [1, 2, 2, 2], 'mean-spatial')).toEqual({ vectors: Float32Array.from([4, 1]), dim: 2 });
    const sequence = Float32Array.from([1, 2, 3, 4, 100, 100]); // [1, 3, 2]
    expect(poolOutput(sequence, [1, 3, 2], 'mean-tokens', [1, 1, 0])).toEqual({ vectors: Float32Array.from([2, 3]), dim: 2 });
    expect(poolOutput(sequence, [1, 3, 2], 'first-token')).toEqual({ vectors: Float32Array.from([1, 2]), dim: 2 });
    expect(poolOutput(map, [2, 4, 1, 1], 'none').dim).toBe(4);
    expect(() => poolOutput(sequence, [1, 3, 2], 'none')).toThrow(/set "pooling" to "mean-spatial"/);
    expect(Array.from(normalizeVectors(Float32Array.from([3, 4, 0, 0]), 2, 'l2'))).toEqual([0.6, 0.8, 0, 0].map((v) => expect.closeTo(v, 6)));
  });
});

describe('half precision on disk', () => {
  it('round-trips within half precision, with rounding to even, subnormals and specials', () => {
    const values = Float32Array.from([0, -0, 1, -2.5, 0.1, 65504, 70000, 1e-6, 6e-8, 1e-9, Infinity, -Infinity, 0.33325]);
    const back = decodeHalf(encodeHalf(values));
    expect(Array.from(back.slice(0, 4))).toEqual([0, -0, 1, -2.5]);
    expect(back[4]).toBeCloseTo(0.1, 3);
    expect(back[5]).toBe(65504);
    expect(back[6]).toBe(Infinity);
    expect(back[7]! / 1e-6).toBeCloseTo(1, 1);
    expect(back[8]).toBeCloseTo(5.960464477539063e-8, 12);
    expect(back[9]).toBe(0);
    expect([back[10], back[11]]).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(decodeHalf(encodeHalf(Float32Array.of(NaN)))[0])).toBe(true);
    // 1 + 2^-11 is exactly between two halves: ties go to the even one (1).
    expect(decodeHalf(encodeHalf(Float32Array.of(1 + 2 ** -11)))[0]).toBe(1);
    const random = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.5);
    const decoded = decodeHalf(encodeHalf(random));
    for (let i = 0; i < random.length; i++) expect(Math.abs(decoded[i]! - random[i]!)).toBeLessThanOrEqual(2 ** -12);
  });
});
