/**
 * Ref-name rules: git's check-ref-format, and stricter (DESIGN.md "Refs").
 *
 * A valid name is `HEAD`, or `refs/` followed by one or more segments separated by `/`:
 * - each segment is 1+ characters of `[A-Za-z0-9._-]` (ASCII only: no unicode look-alikes,
 *   no control characters, spaces, `~ ^ : ? * [ \ @{`);
 * - no segment is `.` or `..`, starts with `.` or `-`, ends with `.` or `.lock`;
 * - no segment is a Windows reserved device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with or
 *   without an extension, any case);
 * - no segment is a 40- or 64-character hex string (it would read as a sha1/sha256 oid);
 * - no segment is `HEAD` (git refuses `refs/heads/HEAD`);
 * - the whole name is at most 255 bytes; empty segments (`//`, leading or trailing `/`) are refused.
 * Conflicts between names (`a` vs `a/b`, and names that differ only by case in one directory)
 * are checked by `findNameConflict` against the refs that exist and within a transaction.
 */
import { SnapError } from "@snap/schema";

export const MAX_REF_NAME_BYTES = 255;
export const HEAD = "HEAD";

const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
const HEXISH = /^[0-9a-fA-F]+$/;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Why `name` is not a valid ref name, or null when it is. */
export function refNameProblem(name: unknown): string | null {
  if (typeof name !== "string") return "a ref name must be a string";
  if (name === HEAD) return null;
  if (name.length === 0) return "empty name";
  if (Buffer.byteLength(name, "utf8") > MAX_REF_NAME_BYTES) return `longer than ${MAX_REF_NAME_BYTES} bytes`;
  if (!name.startsWith("refs/")) return "must be HEAD or start with refs/";
  const segments = name.split("/");
  if (segments.length < 2) return "must have a segment after refs/";
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem !== null) return problem;
  }
  return null;
}

function segmentProblem(segment: string): string | null {
  if (segment.length === 0) return "empty segment (leading, trailing or double '/')";
  if (!SEGMENT_CHARS.test(segment)) {
    return `segment ${JSON.stringify(segment)} has characters outside [A-Za-z0-9._-]`;
  }
  if (segment === "." || segment === "..") return `segment ${JSON.stringify(segment)} is a path traversal`;
  if (segment.startsWith(".")) return `segment ${JSON.stringify(segment)} starts with '.'`;
  if (segment.startsWith("-")) return `segment ${JSON.stringify(segment)} starts with '-'`;
  if (segment.endsWith(".")) return `segment ${JSON.stringify(segment)} ends with '.'`;
  if (segment.toLowerCase().endsWith(".lock")) return `segment ${JSON.stringify(segment)} ends with '.lock'`;
  if (segment.includes("..")) return `segment ${JSON.stringify(segment)} contains '..'`;
  if (WINDOWS_RESERVED.test(segment)) return `segment ${JSON.stringify(segment)} is a Windows reserved name`;
  if ((segment.length === 40 || segment.length === 64) && HEXISH.test(segment)) {
    return `segment ${JSON.stringify(segment)} looks like an object id`;
  }
  if (segment === HEAD) return "segment 'HEAD' is reserved";
  return null;
}

export function isValidRefName(name: unknown): name is string {
  return refNameProblem(name) === null;
}

/** Throws `ref_name_invalid` (data: ref, reason) unless `name` is valid. */
export function assertRefName(name: unknown, what = "ref name"): asserts name is string {
  const problem = refNameProblem(name);
  if (problem !== null) {
    throw new SnapError("ref_name_invalid", `invalid ${what} ${printable(name)}: ${problem}`, {
      data: { ref: typeof name === "string" ? name : String(name), reason: problem },
      hint: "use HEAD or refs/<segment>/..., segments of [A-Za-z0-9._-] (see @snap/refs README)",
    });
  }
}

/** A prefix for list(): "" or "refs" or a name-like path ending or not in "/". */
export function assertRefPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== "string") {
    throw new SnapError("ref_name_invalid", "a ref prefix must be a string", { data: { ref: String(prefix), reason: "not a string" } });
  }
  if (prefix === "" || prefix === "refs" || prefix === "refs/") return;
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  // A prefix may end in a partial segment ("refs/heads/ma"); validate the complete ones.
  const problem = refNameProblem(trimmed.includes("/") ? trimmed.slice(0, trimmed.lastIndexOf("/")) + "/x" : trimmed);
  if (problem !== null || trimmed.split("/").some((s) => s === "" || s === "." || s === ".." || !SEGMENT_CHARS.test(s))) {
    throw new SnapError("ref_name_invalid", `invalid ref prefix ${printable(prefix)}`, {
      data: { ref: prefix, reason: problem ?? "bad segment" },
    });
  }
}

function printable(name: unknown): string {
  return JSON.stringify(typeof name === "string" ? name : String(name));
}

/** Every proper directory prefix of a ref name: refs/a/b/c -> [refs/a, refs/a/b]. */
export function parentNames(name: string): string[] {
  const parts = name.split("/");
  const out: string[] = [];
  for (let i = 2; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/**
 * D/F and case conflicts among names that would exist together: `a` and `a/b` cannot both be
 * refs, nor can `refs/heads/Main` and `refs/heads/main`. Returns the first conflicting pair.
 */
export function findNameConflict(names: Iterable<string>): [string, string] | null {
  const exact = new Set<string>();
  const folded = new Map<string, string>();
  for (const name of names) {
    const f = name.toLowerCase();
    const other = folded.get(f);
    if (other !== undefined && other !== name) return [other, name];
    folded.set(f, name);
    exact.add(name);
  }
  const dirs = new Map<string, string>();
  for (const name of exact) {
    for (const parent of parentNames(name)) {
      const f = parent.toLowerCase();
      const asRef = folded.get(f);
      if (asRef !== undefined) return [asRef, name];
      const asDir = dirs.get(f);
      if (asDir !== undefined && asDir !== parent) return [asDir, parent];
      dirs.set(f, parent);
    }
  }
  return null;
}
