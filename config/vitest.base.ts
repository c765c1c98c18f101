import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The test setup every snap package shares; test-results.json feeds scripts/test-summary.mjs.
 * Crash and concurrency fixtures run the built dist/ in child processes, so the global setup
 * rebuilds a package whose dist/ is missing or older than its src/.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: [fileURLToPath(new URL("./vitest-build-if-stale.ts", import.meta.url))],
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
  },
});
