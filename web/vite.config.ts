import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

// serviceWorker emits sw.js with the list of every file of the build, so the
// worker can cache the whole app shell when it installs (the console then
// opens without a connection). The version changes with the files, so a new
// release replaces the old cache.
function serviceWorker(): Plugin {
  return {
    name: 'amparo-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = ['/', ...Object.keys(bundle).filter((f) => f !== 'index.html').map((f) => '/' + f)].sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16);
      const source = readFileSync(new URL('./src/sw/sw.js', import.meta.url), 'utf8')
        .replace('__SHELL__', JSON.stringify(files))
        .replace('__VERSION__', JSON.stringify(version));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker()],
  build: {
    outDir: '../internal/web/static/dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: { '/graphql': 'http://127.0.0.1:8080', '/dev': 'http://127.0.0.1:8080', '/console': 'http://127.0.0.1:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
