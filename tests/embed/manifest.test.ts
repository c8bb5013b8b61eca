import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../src/errors';
import { DEFAULT_MODEL, loadManifest, parseManifest, parseProviders, resolveModel } from '../../src/embed';
import { tempFolder } from './fixtures/images';

const temp = tempFolder();
afterAll(() => temp.cleanup());

const vision = { file: 'model.onnx', input: 'input', width: 224, height: 224 };

function parseError(json: unknown): string {
  try {
    parseManifest(json, '/models/m.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    return (error as Error).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('model manifests', () => {
  it('reads the bundled default with every field typed and paths made absolute', () => {
    const manifest = loadManifest(DEFAULT_MODEL);
    expect(manifest.name).toBe('mobilenetv2-12-int8');
    expect(manifest.vision).toMatchObject({
      file: path.join(path.dirname(DEFAULT_MODEL), 'mobilenetv2-12-int8.onnx'),
      input: 'input',
      layout: 'NCHW',
      width: 224,
      height: 224,
      resize: 'shortest-side-crop',
      shortestSide: 256,
      output: '627',
      pooling: 'mean-spatial',
    });
    expect(manifest.normalize).toBe('l2');
    expect(manifest.text).toBeUndefined();
  });

  it('fills defaults for what a minimal manifest leaves out', () => {
    const manifest = parseManifest({ name: 'm', vision }, '/models/m.json');
    expect(manifest.vision).toMatchObject({ file: '/models/model.onnx', layout: 'NCHW', resize: 'shortest-side-crop', shortestSide: 224, rescale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', output: undefined, pooling: 'none' });
  });

  it('names the file and the field of every mistake, with what is allowed', () => {
    expect(parseError({ name: 'm' })).toBe('/models/m.json: field "vision" is missing; it must be an object');
    expect(parseError({ name: 'm', vision: { ...vision, mean: [0.5] } })).toBe(
      '/models/m.json: field "vision.mean" must be an array of 3 numbers (one per channel, R G B); got [0.5]',
    );
    expect(parseError({ name: 'm', vision: { ...vision, layout: 'CHW' } })).toBe('/models/m.json: field "vision.layout" must be one of "NCHW", "NHWC"; got "CHW"');
    expect(parseError({ name: 'm', vision: { ...vision, width: 0 } })).toMatch(/field "vision\.width" must be a whole number ≥ 1 ≤ 8192; got 0/);
    expect(parseError({ name: 'm', vision: { ...vision, std: [1, 0, 1] } })).toMatch(/"vision\.std" must be an array of 3 numbers > 0/);
    expect(parseError({ name: 'm', vision: { ...vision, ouptut: 'x' } })).toMatch(/unknown field "vision\.ouptut"; known fields here: .*"vision\.output"/);
    expect(parseError({ name: 'm', format: 'quicksort-model/9', vision })).toMatch(/field "format" must be "quicksort-model\/1"/);
    expect(parseError({ name: 'a b', vision })).toMatch(/field "name" must be letters, digits/);
    expect(parseError([1])).toMatch(/the manifest must be a JSON object/);
    expect(parseError({ name: 'm', vision, text: { file: 't.onnx' } })).toBe('/models/m.json: field "text.tokenizer" is missing; it must be a string');
  });

  it('says what to do when pointed at something that is not a manifest', () => {
    const onnx = path.join(temp.dir, 'model.onnx');
    writeFileSync(onnx, 'x');
    expect(() => resolveModel(onnx)).toThrow(/is an ONNX file, not a manifest: write a manifest \.json beside it/);
    expect(() => resolveModel(path.join(temp.dir, 'nope.json'))).toThrow(/the model .*nope\.json does not exist/);
    const folder = path.join(temp.dir, 'empty-export');
    mkdirSync(folder);
    expect(() => resolveModel(folder)).toThrow(/has neither a quicksort-model\.json nor a vision model/);
    const broken = path.join(temp.dir, 'broken.json');
    writeFileSync(broken, '{ "name": ');
    expect(() => loadManifest(broken)).toThrow(/broken\.json is not valid JSON/);
  });

  it('reads a SigLIP-style processor config (resize without crop) as stretch', () => {
    const folder = path.join(temp.dir, 'siglip');
    mkdirSync(path.join(folder, 'onnx'), { recursive: true });
    writeFileSync(path.join(folder, 'onnx', 'vision_model_quantized.onnx'), 'x');
    writeFileSync(
      path.join(folder, 'preprocessor_config.json'),
      JSON.stringify({ do_resize: true, size: { height: 224, width: 224 }, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], rescale_factor: 1 / 255 }),
    );
    const manifest = resolveModel(folder);
    expect(manifest.vision).toMatchObject({ file: path.join(folder, 'onnx', 'vision_model_quantized.onnx'), resize: 'stretch', width: 224, height: 224, interpolation: 'linear' });
    expect(manifest.text).toBeUndefined();
    expect(JSON.parse(readFileSync(path.join(folder, 'preprocessor_config.json'), 'utf8')).size.height).toBe(224);
  });

  it('checks execution provider lists and keeps the CPU as the last resort', () => {
    expect(parseProviders('cuda, webgpu')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(parseProviders(['cpu', 'cuda'])).toEqual(['cpu', 'cuda']);
    expect(parseProviders(undefined)).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(() => parseProviders('')).toThrow(/empty/);
  });
});
