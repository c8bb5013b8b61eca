import { InvalidArgumentError } from '../errors';
import { arrowFileExporter, arrowStreamExporter } from './arrow-exporter';
import { cocoBridgeRewriter } from './coco-bridge';
import { cocoCaptionsExporter, cocoExporter } from './coco-exporter';
import { parquetExporter } from './parquet-exporter';
import type { ExportFormat, Exporter } from './types';
import { webDatasetExporter } from './webdataset-exporter';

/** Every output format, by name: the one place a new format is added. */
export const EXPORTERS: Readonly<Record<ExportFormat, Exporter>> = {
  arrow: arrowFileExporter,
  'arrow-stream': arrowStreamExporter,
  parquet: parquetExporter,
  webdataset: webDatasetExporter,
  // A dataset imported from COCO exports its original file, corrected, through the COCO bridge.
  coco: { ...cocoExporter, rewriter: cocoBridgeRewriter },
  'coco-captions': cocoCaptionsExporter,
};

export const EXPORT_FORMATS = Object.keys(EXPORTERS) as ExportFormat[];

/** The exporter of a format; an unknown name gets the list of known ones. */
export function getExporter(format: string): Exporter {
  const exporter = (EXPORTERS as Record<string, Exporter | undefined>)[format];
  if (!exporter) throw new InvalidArgumentError(`unknown export format ${JSON.stringify(format)}; expected one of ${EXPORT_FORMATS.join(', ')}`);
  return exporter;
}
