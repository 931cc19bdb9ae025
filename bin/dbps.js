#!/usr/bin/env node
// The CLI is built from src/cli.ts into dist/ and bundled into dist/bundle/cli.cjs (npm run build),
// which runs with a V8 code cache per command (src/util/code-cache.ts). bin/dbps (the `dbps` command)
// starts this file with NODE_EXTRA_CA_CERTS moved aside: it is put back here for the processes dbps
// runs (setting it now does not make this process read it).
import { runBundle } from '../dist/util/code-cache.js';

const deferred = process.env.DBPS_DEFERRED_EXTRA_CA_CERTS;
if (deferred && process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = deferred;

runBundle(new URL('../dist/bundle/cli.cjs', import.meta.url), process.argv);
