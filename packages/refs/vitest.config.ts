import { mergeConfig } from "vitest/config";
import base from "../../config/vitest.base.js";

// Child-process fixtures import the built dist/: global-setup builds it when it is stale.
export default mergeConfig(base, { test: { globalSetup: ["test/global-setup.ts"] } });
