// The console's typed client is generated from the server's OpenAPI document: a route or schema
// changed without `npm run console:types` fails here, before the console could call it wrongly.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiTypesFile, generateApiTypes } from '../../helpers/console-api-types.js';

describe('console API types', () => {
  it('match the server\'s OpenAPI document (run `npm run console:types` after changing a route)', async () => {
    const fresh = await generateApiTypes();
    expect(fresh).toContain("'/api/v1/session'".replace(/'/g, '"'));
    expect(readFileSync(apiTypesFile, 'utf8') === fresh, 'web/src/api-types.ts is stale: run `npm run console:types`').toBe(true);
  }, 60_000);
});
