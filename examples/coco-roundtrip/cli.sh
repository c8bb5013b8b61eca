#!/usr/bin/env bash
# The COCO round trip from the command line, on the bundled sample. Run from the repository root after
# `npm run build`:  bash examples/coco-roundtrip/cli.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
coco="node $repo/bin/quicksort-coco.js"
quicksort="node $repo/bin/quicksort.js"
annotations=$repo/examples/sample/annotations/instances_val2017.json
images=$repo/examples/sample/images

echo "== ground truth: one crop per box, with 10 % context"
$coco import --annotations "$annotations" --images "$images" --output-dir "$work/gt-crops" --padding 0.1

echo "== again: nothing left to cut (resumed)"
$coco import --annotations "$annotations" --images "$images" --output-dir "$work/gt-crops" --padding 0.1

echo "== a person corrects two crops: one is a different class, one is not an object at all"
$quicksort items --dataset "$work/gt-crops" --limit 2
$quicksort label --dataset "$work/gt-crops" --item 1 --label zebra
node -e "
const { QuickSort } = require('$repo/dist');
QuickSort.open('$work/gt-crops').then((ds) => { ds.delete(2); ds.close(); });"

echo "== export: the original file with exactly those two annotations changed"
$coco export --dataset "$work/gt-crops" --output "$work/cleaned.json"
node -e "
const a = require('$annotations').annotations, b = require('$work/cleaned.json').annotations;
const after = new Map(b.map((x) => [x.id, x]));
for (const x of a) if (JSON.stringify(x) !== JSON.stringify(after.get(x.id))) console.log('changed annotation', x.id, 'category', x.category_id, '->', after.get(x.id)?.category_id ?? 'removed');"

echo "== detections in COCO results format, only those scoring 0.5 or more"
node -e "
const gt = require('$annotations');
const detections = gt.annotations.map((a, i) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: ((i * 7919) % 1000) / 1000 }));
require('fs').writeFileSync('$work/detections.json', JSON.stringify(detections));"
$coco import --predictions "$work/detections.json" --annotations "$annotations" --images "$images" --output-dir "$work/det-crops" --min-confidence 0.5 --square
$coco export --dataset "$work/det-crops" --output "$work/detections-cleaned.json"
cmp "$work/detections.json" "$work/detections-cleaned.json" && echo "no corrections: the export is the input, byte for byte"
