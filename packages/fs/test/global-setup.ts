// Child-process fixtures import the built dist/: build it when it is missing or older than
// src/. The script is generic (the package is the cwd) so other packages can reuse it.
export { default } from "../scripts/vitest-build-if-stale.js";
