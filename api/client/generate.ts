/**
 * Regenerates `api/client/openapi.json` and `api/client/schema.d.ts` from the route
 * declarations: `npm run api:client`. Commit both files.
 */
import { writeFile } from 'node:fs/promises';
import { renderClientFiles, type ClientFiles } from './codegen.js';

const files = await renderClientFiles();
for (const name of Object.keys(files) as (keyof ClientFiles)[]) {
  await writeFile(new URL(name, import.meta.url), files[name]);
  console.log(`wrote api/client/${name}`);
}
