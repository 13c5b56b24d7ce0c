import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The generated API client (hey-api) lives outside src/ and is not committed.
const clientDir = fileURLToPath(new URL('./.client/gen', import.meta.url));

export default defineConfig({
  resolve: { alias: { '@mailroom/client': clientDir } },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Deterministic output: content-hashed names, no source maps, no build time.
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames: 'assets/[name]-[hash][extname]' } },
  },
});
