#!/usr/bin/env node
require('../dist/kernel/cli').main(process.argv);
