import path from 'node:path';
import { OnnxEmbedder } from '../../src/embed';
import { embedderContract } from './fixtures/embedder-contract';
import { tempFolder } from './fixtures/images';
import { writeTinyExport } from './fixtures/tiny-models';

const temp = tempFolder();
afterAll(() => temp.cleanup());
const options = { providers: 'cpu', threads: 1, modelCacheDir: path.join(temp.dir, 'model-cache') };

embedderContract('bundled MobileNetV2 (image only)', () => OnnxEmbedder.load(undefined, options));
embedderContract('tiny two-tower export', () => OnnxEmbedder.load(writeTinyExport(path.join(temp.dir, 'tiny-clip')), options));
