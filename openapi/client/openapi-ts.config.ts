// Generates src/client from the committed document: typed functions named
// after each operationId, and zod schemas the SDK uses to validate every
// response it receives.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: '../openapi.json',
  output: 'src/client',
  plugins: ['@hey-api/client-fetch', 'zod', { name: '@hey-api/sdk', validator: true }],
});
