import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../config/vitest.base.js";

// The shared setup, plus: child-process fixtures import dist/, so build it when stale.
export default mergeConfig(base, defineConfig({ test: { globalSetup: ["test/global-setup.ts"] } }));
