import path from 'node:path';
import { messageOf, type CocoFormatError } from '../errors';
import { walkImages } from '../images';
import { isWithinFolder } from '../paths';
import { COCO_CATEGORIES } from './coco-categories';
import { chooseConvention } from './conventions';
import { fromCoco } from './convert';
import { idOf, type ReadResult } from './import-read';
import type { ImageGroup, ImportRun } from './import-run';
import { writeLink, type CocoLink } from './link';
import { CategoryIndex, type CocoAnnotationJson, type CocoContext, type CocoImage, type CocoObject } from './types';

/** The boxes to import, by image, and the categories their classes are named from. */
export interface ResolvedImport {
  categories: CategoryIndex;
  groups: ImageGroup[];
}

/**
 * The resolve phase: names the categories (the file's, else COCO's 80 for bare predictions) and chooses
 * their convention, finds the images (by the number in their names when no list was given), binds the
 * dataset to the file (refusing another file, see {@link SameImportCheck}), and turns each candidate into a
 * box of an image inside the images folder, with the path of its crop.
 */
export async function resolveImport(run: ImportRun, read: ReadResult): Promise<ResolvedImport> {
  const { report, settings, paths } = run;
  if (read.categories.length === 0 && settings.role === 'predictions') {
    read.categories.push(...COCO_CATEGORIES);
    report.categoriesFrom = 'builtin';
  }
  const categories = new CategoryIndex(read.categories);
  const choice = chooseConvention(read.evidence, categories, settings.convention);
  report.convention = choice.convention;
  if (choice.note) report.conventionNote = choice.note;
  const context: CocoContext = { kind: report.kind, convention: choice.convention, categoryKey: choice.categoryKey, boxFormat: settings.boxFormat, categories };
  const matchByNumber = settings.role === 'predictions' && !paths.annotationsFile;
  if (read.images.size === 0 && read.badImages.size === 0 && matchByNumber) {
    for (const [id, image] of await imagesByNumber(paths.imagesDir)) read.images.set(id, image);
  }

  const link: CocoLink = {
    version: 1, source: paths.source, bytes: paths.sourceInfo.size, mtimeMs: paths.sourceInfo.mtimeMs, sha256: read.sha256, kind: report.kind, role: settings.role,
    convention: choice.convention, categoryKey: choice.categoryKey, boxFormat: settings.boxFormat,
    categories: [...categories.byId.values()].map(({ id, name }) => ({ id, name })), categoriesFrom: report.categoriesFrom,
    annotationsFile: paths.annotationsFile, imagesDir: paths.imagesDir, crop: { ...settings.crop, format: settings.format, quality: settings.quality }, importedAt: Date.now(),
  };
  const { link: previous, sameImport } = run.earlier;
  if (sameImport) sameImport.check(previous!, link, read.images, paths.outputRoot);
  writeLink(run.store, link);

  const groups = groupByImage(run, read, context, matchByNumber);
  read.images.clear();
  return { categories, groups };
}

/** Converts the candidates, skipping bad and repeated ones, into the crops of each image. */
function groupByImage(run: ImportRun, read: ReadResult, context: CocoContext, matchByNumber: boolean): ImageGroup[] {
  const { imagesDir } = run.paths;
  const groups = new Map<number, ImageGroup>();
  const seen = new Set<number>();
  const extension = run.settings.format === 'jpeg' ? 'jpg' : run.settings.format;
  const refuseImage = (image: CocoImage, annotationId: number, reason: string) => {
    read.badImages.set(image.id, { field: 'file_name', reason });
    read.images.delete(image.id);
    run.warn(annotationId, 'file_name', `image ${image.id}: ${reason}`);
  };
  for (const { index, fields } of read.candidates.splice(0)) {
    let object: CocoObject;
    try {
      object = fromCoco(fields as CocoAnnotationJson, index, context);
    } catch (error) {
      run.warn(idOf(fields, index, context.kind === 'results'), (error as CocoFormatError).field ?? 'annotations', messageOf(error));
      continue;
    }
    const id = object.annotationId;
    if (seen.has(id)) {
      run.warn(id, 'id', `annotation id ${id} appears more than once; only its first record is imported`);
      continue;
    }
    seen.add(id);
    if (object.score !== undefined && (object.score < 0 || object.score > 1)) {
      run.warn(id, 'score', `score ${object.score} is outside 0–1, so it cannot be a confidence`);
      continue;
    }
    let group = groups.get(object.imageId);
    if (!group) {
      const image = read.images.get(object.imageId);
      if (!image) {
        const bad = read.badImages.get(object.imageId);
        if (bad) run.warn(id, bad.field, `image ${object.imageId} is unusable: ${bad.reason}`);
        else if (matchByNumber) {
          run.warn(id, 'image_id', `image_id ${object.imageId} matches no image file in ${imagesDir} (without --annotations, files are matched by the number in their name)`);
        } else run.warn(id, 'image_id', `image_id ${object.imageId} names no image of the images list`);
        continue;
      }
      const file = path.resolve(imagesDir, image.fileName);
      if (image.fileName.includes('\0') || !isWithinFolder(imagesDir, file) || file === imagesDir) {
        refuseImage(image, id, `file_name ${JSON.stringify(image.fileName)} leads outside the images folder ${imagesDir}; refused`);
        continue;
      }
      const folder = cropFolder(imagesDir, file);
      const hidden = folder.split('/').find((segment) => segment.startsWith('.'));
      if (hidden !== undefined) {
        refuseImage(image, id, `file_name ${JSON.stringify(image.fileName)} would put its crops in the hidden folder ${hidden}/ of the output folder, where state is kept (.quicksort/); refused`);
        continue;
      }
      group = { image, folder, file, crops: [] };
      groups.set(object.imageId, group);
    }
    group.crops.push({
      annotationId: id, box: object.box, categoryId: object.categoryId, score: object.score,
      uri: `${group.folder}/${id}.${extension}`, suggest: true, stored: false,
    });
  }
  return [...groups.values()];
}

/** Crops of one image go in a folder named after the image's path without its extension. */
function cropFolder(imagesDir: string, file: string): string {
  const relative = path.relative(imagesDir, file).split(path.sep).join('/');
  return relative.replace(/\.[^./]*$/, '') || 'image';
}

/** Without an annotations file, images are found by the number in their name (COCO's `000000000042.jpg` is image 42). */
async function imagesByNumber(root: string): Promise<Map<number, CocoImage>> {
  const images = new Map<number, CocoImage>();
  for await (const entry of walkImages(root)) {
    if (entry.kind !== 'file') continue;
    const match = /(\d+)$/.exec(path.posix.basename(entry.uri).replace(/\.[^.]*$/, ''));
    if (!match) continue;
    const id = Number(match[1]);
    if (Number.isSafeInteger(id) && !images.has(id)) images.set(id, { id, fileName: entry.uri, width: 0, height: 0 });
  }
  return images;
}
