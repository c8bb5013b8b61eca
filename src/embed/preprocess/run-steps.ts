import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageError, messageOf } from '../../errors';
import type { ImageSource } from '../types';
import { planGeometry, writeTensor, type PreprocessStep } from './steps';

/**
 * Runs a preprocessing plan on one image and writes its tensor into `out` at `offset`. Decoding, orientation,
 * colour and geometry go through one sharp pipeline (so JPEG shrink-on-load applies); the pixel steps run on
 * the raw result. Throws {@link ImageError} for an unreadable or undecodable image.
 */
export async function preprocessImage(source: ImageSource, steps: readonly PreprocessStep[], out: Float32Array, offset: number): Promise<void> {
  const label = 'file' in source ? source.file : `image of ${source.bytes.byteLength} bytes`;
  let bytes: Uint8Array;
  try {
    bytes = 'file' in source ? await readFile(source.file) : source.bytes;
  } catch (error) {
    throw new ImageError(`cannot read ${label}: ${messageOf(error)}`, label, { cause: error });
  }
  const decode = steps.find((step): step is Extract<PreprocessStep, { op: 'decode' }> => step.op === 'decode');
  const open = () => sharp(bytes, { failOn: decode?.failOn ?? 'error', limitInputPixels: decode?.maxPixels ?? true });
  const orient = steps.some((step) => step.op === 'orient');

  let pixels: Buffer;
  let info: sharp.OutputInfo;
  try {
    const metadata = await open().metadata();
    const size = orient && metadata.autoOrient ? metadata.autoOrient : { width: metadata.width, height: metadata.height };
    if (!size.width || !size.height) throw new Error('the image declares no width or height');
    let image = open();
    for (const step of steps) {
      if (step.op === 'orient') image = image.rotate();
      else if (step.op === 'flatten-alpha') image = image.flatten({ background: rgb(step.background) });
      // The whole pipeline in sRGB, not only its output: otherwise a grey+alpha image is flattened in
      // greyscale and a coloured background loses its colour.
      else if (step.op === 'to-srgb') image = image.pipelineColourspace('srgb').toColourspace('srgb');
    }
    // sharp applies one extract before the resize, the resize, then one extract after it: the plans fit that.
    for (const stage of planGeometry(steps, { width: size.width, height: size.height }, source.box)) {
      if (stage.extract) image = image.extract(stage.extract);
      if (stage.resize) {
        const { width, height, fit, kernel, background } = stage.resize;
        image = image.resize({ width, height, fit, kernel: kernel === 'linear' ? 'linear' : kernel, ...(background ? { background: rgb(background) } : {}) });
      }
    }
    ({ data: pixels, info } = await image.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw new ImageError(`cannot decode ${label}: ${messageOf(error)}`, label, { cause: error });
  }
  if (info.channels !== 3) throw new ImageError(`${label} decoded to ${info.channels} channels, expected 3 (sRGB)`, label);

  const normalize = steps.find((step): step is Extract<PreprocessStep, { op: 'normalize' }> => step.op === 'normalize') ?? identity;
  const layout = steps.find((step): step is Extract<PreprocessStep, { op: 'layout' }> => step.op === 'layout')?.layout ?? 'NCHW';
  writeTensor(pixels, info.width, info.height, normalize, layout, out, offset);
}

const identity: Extract<PreprocessStep, { op: 'normalize' }> = { op: 'normalize', rescale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB' };

function rgb(value: readonly [number, number, number]) {
  return { r: value[0], g: value[1], b: value[2], alpha: 1 };
}
