/**
 * The fs backend's bytes on disk (see FORMAT.md for the full specification).
 *
 *   <dir>/<oid[0:2]>/<oid[2:64]>    one file per object: the object's bytes, nothing else
 *                                   (a blob raw, a structured object as canonical JSON);
 *                                   sha256(file) == oid, so `sha256sum` checks it.
 *                                   Published read-only (0444), never rewritten in place.
 *   <dir>/<oid[0:2]>/.tmp-*         staging of a buffered put (debris after a crash)
 *   <dir>/tmp/.tmp-*                staging of a streamed put, whose oid is not known yet
 *
 * Anything else under <dir> is not an object and is ignored by listings and verify.
 * This module turns oids into names and names back into oids; the fs backend is the only
 * code that writes these names.
 */
import { join } from "node:path";

/** A fan-out directory name: two lowercase hex digits. */
export const FANOUT_NAME = /^[0-9a-f]{2}$/;
/** An object file name inside a fan-out directory: the remaining 62 lowercase hex digits. */
export const OBJECT_NAME = /^[0-9a-f]{62}$/;
/** Name of the staging directory for streamed puts, inside the objects directory. */
export const STAGING_DIR_NAME = "tmp";
/** Mode of a published object file. */
export const OBJECT_FILE_MODE = 0o444;

export function fanoutName(oid: string): string {
  return oid.slice(0, 2);
}

export function objectFileName(oid: string): string {
  return oid.slice(2);
}

export function objectPath(dir: string, oid: string): string {
  return join(dir, oid.slice(0, 2), oid.slice(2));
}

/** The oid an object file stands for, or undefined when the names are not an object's. */
export function oidFromNames(fanout: string, name: string): string | undefined {
  return FANOUT_NAME.test(fanout) && OBJECT_NAME.test(name) ? fanout + name : undefined;
}
