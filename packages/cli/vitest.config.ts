import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../config/vitest.base.js";

// The tests spawn the built binary (dist/bin.js): the global setup checks it is there and current.
export default mergeConfig(base, defineConfig({ test: { globalSetup: ["test/global-setup.ts"] } }));
