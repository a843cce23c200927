import { defineConfig } from "vite";

// Relative asset paths: the built `dist/` works from any static host, any sub-path, and from `cir-eval view`.
export default defineConfig({
  base: "./",
  worker: { format: "es" },
  build: { target: "es2022", chunkSizeWarningLimit: 2000 },
});
