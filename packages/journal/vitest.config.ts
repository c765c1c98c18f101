import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../config/vitest.base.js";

export default mergeConfig(base, defineConfig({ test: { globalSetup: ["test/global-setup.ts"] } }));
