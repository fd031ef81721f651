import { writeFile } from 'node:fs/promises';
import { generateOpenApi } from '../gateway/openapi.ts';

// `npm run openapi`: regenerate the committed spec after changing a route schema.
const target = new URL('../openapi/openapi.json', import.meta.url);
await writeFile(target, await generateOpenApi());
console.log(`wrote ${target.pathname}`);
