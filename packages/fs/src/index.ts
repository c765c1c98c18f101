export { type FsSeam, type FsSyncFacet, type SeamFile, type SeamStats, type OpenFlags, nodeFs, isCode, pathExists } from "./seam.js";
export {
  publishFile,
  publishTmpFile,
  fsyncDir,
  ensureDir,
  type EnsureDirOptions,
  tmpNameIn,
  isTmpName,
  type PublishMode,
  type PublishOptions,
  type PublishResult,
} from "./publish.js";
export { swapSymlink, type SwapSymlinkOptions } from "./symlink.js";
export { removeFile, removeFiles, removeTree, type RemoveOptions, type RemoveFilesResult } from "./remove.js";
export { FsyncBatch, type FsyncBatchOptions } from "./batch.js";
export { appendDurable, type AppendOptions } from "./append.js";
export {
  acquireLock,
  withLock,
  readLockHolder,
  OWNER_FILE,
  type LockOwner,
  type LockHolder,
  type StoreLock,
  type AcquireLockOptions,
} from "./lock.js";
export { selfIdentity, isDeadOnThisHost, type ProcessIdentity } from "./process-identity.js";
export {
  createFaultFs,
  type FaultFs,
  type FaultFsOptions,
  type FaultCounts,
  type FaultOp,
  type FaultOpKind,
} from "./fault.js";
export { KeyedMutex } from "./mutex.js";
export type { SeamFileBlocking } from "./seam.js";
