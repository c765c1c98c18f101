import { readFileSync } from "node:fs";
import { defineConfig, type Options } from "tsup";
import base from "../../config/tsup.base.js";

const baseOptions = base as Options;
const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };
const define = { __SNAP_CLI_VERSION__: JSON.stringify(version) };

export default defineConfig([
  // The library surface (ESM + CJS + .d.ts). Its clean leaves the bin's files alone, since
  // both builds run at the same time into dist/.
  { ...baseOptions, entry: ["src/index.ts"], define, clean: ["!bin.js", "!bin.js.map", "!cli-process.js", "!cli-process.js.map"] },
  // The `snap` binary: ESM only, with the shebang. bin.js installs its signal handlers and then
  // imports cli-process.js (its own entry, so its dependencies load only after the handlers).
  {
    ...baseOptions,
    entry: ["src/bin.ts", "src/cli-process.ts"],
    format: ["esm"],
    splitting: true,
    dts: false,
    clean: false,
    define,
    banner: { js: "#!/usr/bin/env node" },
  },
]);
