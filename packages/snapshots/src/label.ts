/**
 * Artifact labels and release names: the names snap later turns into filesystem paths.
 * A label is a `/`-separated relative path; nothing in it may climb out of, or around, the
 * directory it is materialized under. Checked before anything is written.
 */
import { SnapError } from "@snap/schema";

const MAX_LABEL = 1024;
const MAX_SEGMENT = 255;
// Control characters (NUL included) never appear in a label.
const CONTROL = /[\u0000-\u001f\u007f]/;

function refuse(label: unknown, reason: string): never {
  const shown = typeof label === "string" ? JSON.stringify(label.length > 120 ? `${label.slice(0, 120)}…` : label) : typeof label;
  throw new SnapError("label_invalid", `label ${shown} is not a safe relative path: ${reason}`, {
    data: { label: typeof label === "string" ? label.slice(0, 1024) : null, reason },
    hint: "labels are /-separated relative paths such as docs/index.html (no '..', '.', empty segments, leading '/', backslash or control characters)",
  });
}

/** Throws SnapError `label_invalid` unless `label` is a safe `/`-separated relative path. */
export function assertLabel(label: unknown): asserts label is string {
  if (typeof label !== "string") refuse(label, "not a string");
  if (label.length === 0) refuse(label, "empty");
  if (label.length > MAX_LABEL) refuse(label, `longer than ${MAX_LABEL} characters`);
  if (label.includes("\u0000")) refuse(label, "contains NUL");
  if (CONTROL.test(label)) refuse(label, "contains a control character");
  if (label.includes("\\")) refuse(label, "contains a backslash");
  if (label.startsWith("/")) refuse(label, "absolute path");
  if (/^[A-Za-z]:/.test(label)) refuse(label, "drive-letter path");
  for (const segment of label.split("/")) {
    if (segment === "") refuse(label, "empty segment (leading, trailing or doubled '/')");
    if (segment === ".") refuse(label, "'.' segment");
    if (segment === "..") refuse(label, "'..' segment");
    if (segment.length > MAX_SEGMENT) refuse(label, `segment longer than ${MAX_SEGMENT} characters`);
  }
}

/** Whether assertLabel(label) passes. */
export function isLabel(label: unknown): label is string {
  try {
    assertLabel(label);
    return true;
  } catch {
    return false;
  }
}

/** The segments of a valid label. */
export function labelSegments(label: string): string[] {
  assertLabel(label);
  return label.split("/");
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * Release names, pipeline names and run ids each become one path segment (a ref segment and
 * a directory name): `[A-Za-z0-9._-]`, not starting with `.` or `-`, not `.lock`-suffixed.
 */
export function assertName(name: unknown, what: "pipeline" | "release name" | "run id" | "tag"): asserts name is string {
  const ok = typeof name === "string" && name.length > 0 && name.length <= 255 && NAME.test(name) && !name.endsWith(".lock");
  if (!ok) {
    const code = what === "release name" ? "target_unsafe" : "invalid_argument";
    throw new SnapError(code, `${what} ${JSON.stringify(name)} is invalid: use [A-Za-z0-9._-], not starting with '.' or '-'`, {
      data: { name: typeof name === "string" ? name.slice(0, 300) : null, what },
      hint: `a ${what} is one path segment such as prod or nightly-2`,
    });
  }
}
