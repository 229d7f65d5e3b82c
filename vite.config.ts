/**
 * Builds the browser app (src/web) into dist/web, which the server serves at `/`.
 * `npm start` runs this build itself when dist/web is missing or stale (src/server/web/build.ts);
 * `npm run build:web` forces it; `npm run dev:web` serves src/web with hot reload and proxies /api.
 *
 * No @vitejs/plugin-react: Vite 8 transforms TSX with oxc, which only needs the automatic JSX runtime.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Absolute, so the build works from any working directory (`npx recorder serve` elsewhere).
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig(({ command }) => ({
  root: here('./src/web'),
  base: '/',
  // The app's static files are all imported from code (hashed); there is no public/ directory.
  publicDir: false,
  // A .env next to the server's configuration must never leak into the bundle.
  envDir: false,
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'react' },
  },
  // The build may run inside a process whose NODE_ENV is `test` (vitest) or unset (the server):
  // the bundle is always the production React build.
  define: command === 'build' ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    target: 'es2022',
    // pdf.js alone is ~1 MB minified; it is split into its own chunk, loaded only by the slides modes.
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      // On a shared 2-core machine the build is often slowed by others; timing warnings there are noise.
      checks: { bundlerTimings: false },
      output: {
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 20 },
            { name: 'pdfjs', test: /node_modules[\\/]pdfjs-dist[\\/]/, priority: 15 },
            // The charts of /analytics only (lazy page), kept out of the vendor chunk every page loads.
            { name: 'uplot', test: /node_modules[\\/]uplot[\\/]/, priority: 15 },
            { name: 'vendor', test: /node_modules[\\/]/, priority: 10 },
          ],
        },
      },
    },
  },
  worker: { format: 'es' },
  server: {
    port: 5173,
    strictPort: false,
    proxy: {
      '/api': { target: process.env.RECORDER_API ?? 'http://localhost:3000', changeOrigin: false },
      '/health': process.env.RECORDER_API ?? 'http://localhost:3000',
      '/ready': process.env.RECORDER_API ?? 'http://localhost:3000',
    },
  },
}));
