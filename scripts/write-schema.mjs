// Writes schema/services.schema.json from the built schema module (run by `npm run build`).
import { writeFileSync } from 'node:fs';
import { servicesSchema } from '../dist/config/schema.js';

writeFileSync(new URL('../schema/services.schema.json', import.meta.url), `${JSON.stringify(servicesSchema, null, 2)}\n`);
