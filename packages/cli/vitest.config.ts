import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../config/vitest.base.js";

// The tests spawn the built binary (dist/bin.js): the global setup checks it is there and
// current. The e2e files mostly wait on child processes and fsync, so three run side by side
// even on two cores.
export default mergeConfig(base, defineConfig({ test: { globalSetup: ["test/global-setup.ts"], maxWorkers: 3, fileParallelism: true } }));
