/**
 * @snap/cli: the `snap` command. The binary is `snap` (dist/bin.js); this entry exposes the
 * runner and the --json output schemas for tools that drive or parse it.
 */
export { runCli, scanGlobals, EXIT, type CliIo } from "./main.js";
export { CLI_VERSION } from "./program.js";
export { locateStore, findStoreUpwards, STORE_DIR_NAME, type StoreLocation, type StoreSource } from "./store-location.js";
export { formatTable, relativeTime, shortOid, formatBytes, visibleWidth, createColors, type Colors } from "./format.js";
export * from "./schema.js";
