import { exportDataset, PARQUET_COMPRESSIONS, type ParquetCompression } from '../../src/export';
import { InvalidArgumentError } from '../../src/errors';
import { fromColumns } from './arrow-readers';
import { exporterContract } from './exporter-contract';
import { ALL_FIELDS, expectedRows, makeDataset, path, runNode, tempDir, type Fixture } from './fixtures';

/**
 * Reads a Parquet file with hyparquet — a pure-JavaScript reader, independent of the Rust writer inside
 * parquet-wasm — in a separate (ES module) process. hyparquet reads snappy itself; gzip goes through
 * node:zlib and zstd through the system `zstd`, since Node 20 has no zstd.
 */
const READ_PARQUET = `
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
const file = await asyncBufferFromFile(process.argv[1]);
const compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  ZSTD: (input) => {
    const result = spawnSync('zstd', ['-d', '-c', '-q'], { input });
    if (result.status !== 0) throw new Error('zstd: ' + result.stderr);
    return new Uint8Array(result.stdout);
  },
};
const plain = (value) => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  return value;
};
const rows = (await parquetReadObjects({ file, compressors })).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
const metadata = await parquetMetadataAsync(file);
const keyValues = Object.fromEntries((metadata.key_value_metadata ?? []).map((entry) => [entry.key, entry.value]));
const codecs = [...new Set(metadata.row_groups.flatMap((group) => group.columns.map((column) => column.meta_data.codec)))];
const rowGroups = metadata.row_groups.map((group) => Number(group.num_rows));
const columns = metadata.schema.map((element) => element.name);
process.stdout.write(JSON.stringify({ rows, keyValues, codecs, rowGroups, columns }));
`;

interface ParquetReadBack {
  rows: Record<string, unknown>[];
  keyValues: Record<string, string>;
  codecs: string[];
  rowGroups: number[];
  columns: string[];
}

function readParquetInChild(file: string): ParquetReadBack {
  return runNode(READ_PARQUET, [file], { module: true }) as ParquetReadBack;
}

exporterContract({
  format: 'parquet',
  outName: 'items.parquet',
  fields: ALL_FIELDS,
  embeddings: true,
  readBack: (out) => readParquetInChild(out).rows.map(fromColumns),
  readClasses: (out) => JSON.parse(readParquetInChild(out).keyValues['quicksort:classes']!),
});

describe('Parquet files', () => {
  let fixture: Fixture;
  let work: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    fixture = await makeDataset('labeled');
    work = tempDir();
  });
  afterAll(() => {
    fixture?.cleanup();
    work?.cleanup();
  });

  const codecOf: Record<ParquetCompression, string> = { snappy: 'SNAPPY', zstd: 'ZSTD', gzip: 'GZIP', none: 'UNCOMPRESSED' };
  it.each(PARQUET_COMPRESSIONS.map((compression) => [compression]))('compresses with %s, and hyparquet reads every value back', async (compression) => {
    const out = path.join(work.dir, `${compression}.parquet`);
    await exportDataset(fixture.ds, { format: 'parquet', out, compression });
    const back = readParquetInChild(out);
    expect(back.codecs).toEqual([codecOf[compression]]);
    expect(back.rows.map(fromColumns)).toEqual(expectedRows(fixture.ds.items(), ALL_FIELDS));
  });

  it('sizes row groups as asked, across record batches', async () => {
    const out = path.join(work.dir, 'groups.parquet');
    await exportDataset(fixture.ds, { format: 'parquet', out, rowGroupRows: 16, batchRows: 7 });
    const back = readParquetInChild(out);
    expect(back.rowGroups).toEqual([16, 16, 3]);
    expect(back.rows).toHaveLength(35);
  });

  it('refuses a compression it does not know, listing the ones it does, and leaves nothing behind', async () => {
    const out = path.join(work.dir, 'bad.parquet');
    const failed = exportDataset(fixture.ds, { format: 'parquet', out, compression: 'lzo' as ParquetCompression });
    await expect(failed).rejects.toThrow(InvalidArgumentError);
    await expect(failed).rejects.toThrow(/expected one of snappy, zstd, gzip, none/);
    expect(require('node:fs').readdirSync(work.dir).filter((name: string) => name.startsWith('.'))).toEqual([]);
  });
});
