// Identifies the exact build of dbps for the fleet cache. Running from source it is empty, which turns
// the cache off; `npm run build` overwrites dist/config/build-id.js with a hash of the built files
// (scripts/write-build-id.mjs), so any code change, even without a version bump, misses old entries.
export const BUILD_ID: string = '';
