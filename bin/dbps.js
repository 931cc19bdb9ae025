#!/usr/bin/env node
// Launcher only: the CLI is built from src/cli.ts into dist/ and bundled into dist/bundle/ (npm run build).
import { main } from '../dist/bundle/cli.js';

main(process.argv);
