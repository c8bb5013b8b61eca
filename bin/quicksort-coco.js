#!/usr/bin/env node
require('../dist/cli/coco-command.js').mainCoco(process.argv);
