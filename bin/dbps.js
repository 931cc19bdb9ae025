#!/usr/bin/env node
// Launcher only: the CLI lives in dist/cli.js (built from src/cli.ts).
import { main } from '../dist/cli.js';

main(process.argv);
