export { openJournal, Journal, type JournalRecord, type JournalGap, type ReadOptions, type FollowOptions, type JournalState, type CheckpointResult, type ArchiveReport } from "./api.js";
export { type OpenJournalOptions, type AppendOptions, type Durability, type WithLockContext } from "./journal.js";
export { type RecoveryMode } from "./reader.js";
export { entityKey, type EntityState } from "./checkpoint.js";
export { qualifyDisk, type DiskQualification, type DumpLine } from "./doctor.js";
export {
  FORMAT_VERSION,
  MAX_RECORD_BYTES,
  WARN_RECORD_BYTES,
  DEFAULT_SEGMENT_BYTES,
  frameRecord,
  encodeLine,
  eventRecord,
  headerRecord,
  sealRecord,
  noteRecord,
  seqRepairRecord,
  segmentName,
  nextChain,
  type FragmentClass,
} from "./format.js";
export { decodeLine, splitFrames, classifyFragment, scanSegment, type Frame, type DecodedRecord, type Anomaly, type SegmentScan } from "./decode.js";
export * from "./schema.js";
