import { defineConfig } from "vitest/config";

/** The test setup every snap package shares; test-results.json feeds scripts/test-summary.mjs. */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
  },
});
