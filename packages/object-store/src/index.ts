export {
  openObjectStore,
  type ObjectStore,
  type OpenObjectStoreOptions,
  type PutResult,
  type PutStreamResult,
  type PutStreamOptions,
  type PutSource,
  type ListOptions,
  MIN_PREFIX_LENGTH,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyResult,
  type ObjectStoreStats,
  type CorruptObjectEvent,
} from "./store.js";
export type {
  ObjectBackend,
  StagedObject,
  ObjectInfo,
  PublishOutcome,
  WriteMode,
  FsyncMode,
} from "./backend.js";
export { createFsBackend, type FsBackendOptions, type PackOptions } from "./fs-backend.js";
export { PACK_DIR_NAME, packChecksumMatches, type PackEntry } from "./pack.js";
export { readPackIndexFile } from "./pack-set.js";
export { createMemoryBackend, type MemoryBackend } from "./memory-backend.js";
export { encodeStructured, decodeStructured, type StructuredObject } from "./structured.js";
export { objectPath, STAGING_DIR_NAME } from "./format.js";
