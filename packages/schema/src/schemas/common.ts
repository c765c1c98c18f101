/** Field schemas shared by several records. */
import { z } from "zod";

/** Lowercase hex sha256 of an object's stored bytes. */
export const oidSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a 64-character lowercase hex sha256 oid");

/** A sha256 (lowercase hex) of canonical JSON that is not itself a stored object (fingerprints). */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a 64-character lowercase hex sha256");

/** An RFC 3339 UTC timestamp as `new Date().toISOString()` writes it. */
export const timestampSchema = z.iso.datetime();

/** Any JSON value (finite numbers, no undefined). */
export const jsonValueSchema = z.json();

/** A JSON object with arbitrary members (adapter configs, receipts, metadata). */
export const jsonObjectSchema = z.record(z.string(), jsonValueSchema);

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * A name that is used as one ref path segment (pipelines, run ids, release names):
 * `[A-Za-z0-9._-]`, not starting with `.` or `-`, not ending in `.lock`, at most 255 bytes.
 * @snap/refs applies the full ref-name rules on top.
 */
export const refSegmentSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(SEGMENT, "expected [A-Za-z0-9._-], not starting with '.' or '-'")
  .refine((s) => !s.endsWith(".lock"), "must not end in .lock");

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * An artifact label: a `/`-separated relative path. No empty, `.` or `..` segments, no
 * leading or trailing `/`, no backslash, no control characters, at most 1024 characters.
 */
export const labelSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (s) =>
      !CONTROL.test(s) &&
      !s.includes("\\") &&
      s.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".."),
    "expected a safe relative /-separated path (no empty, '.' or '..' segments, no backslash or control characters)",
  );

/**
 * Whether `s` is one tree entry name (entryNameSchema's rule as a plain function, for decoders
 * that check many names without zod): 1 to 255 UTF-16 code units, no '/', '\\', control
 * characters, not '.' or '..'.
 */
export function isEntryName(s: string): boolean {
  return s.length >= 1 && s.length <= 255 && isOneSegment(s);
}

function isOneSegment(s: string): boolean {
  return !CONTROL.test(s) && !s.includes("/") && !s.includes("\\") && s !== "." && s !== "..";
}

/** One tree entry name: a single label segment. */
export const entryNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine(isOneSegment, "expected one path segment (no '/', '\\\\', control characters, '.' or '..')");

/** A media type such as `text/plain` or `application/json; charset=utf-8`. */
export const mediaTypeSchema = z.string().min(3).max(255).regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, "expected a media type like text/plain");
