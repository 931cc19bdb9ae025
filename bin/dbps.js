#!/usr/bin/env node
// Launcher only: the CLI is built from src/cli.ts into dist/ and bundled into dist/bundle/cli.cjs
// (npm run build), which runs with a V8 code cache per command (src/util/code-cache.ts).
import { runBundle } from '../dist/util/code-cache.js';

runBundle(new URL('../dist/bundle/cli.cjs', import.meta.url), process.argv);
