/**
 * The bytes of @snap/refs' files (FORMAT.md specifies them; this module is the only one
 * that encodes and decodes them).
 *
 *   <dir>/HEAD, <dir>/refs/<...>   a ref file: "<64 lowercase hex oid>\n", or, for a symbolic
 *                                  ref, "ref: <ref name>\n". Nothing else, no other whitespace.
 *   <dir>/refs-applied             the applied watermark: "<seq>\n" (decimal), the journal seq of
 *                                  the newest ref_txn record whose ref files are all written.
 *                                  A missing or unreadable watermark reads as 0 (everything is
 *                                  rolled forward again from the journal: idempotent).
 *   .tmp-* names                   publish debris (a crash between tmp write and rename); never
 *                                  a ref (ref segments cannot start with '.').
 */
import { isOid } from "@snap/schema";
import { isValidRefName } from "./names.js";

export const APPLIED_FILE = "refs-applied";
export const SYMBOLIC_PREFIX = "ref: ";

/** A ref's value: an oid, or `ref: <name>` for a symbolic ref. */
export type RefValue = string;

export function symbolicValue(target: string): RefValue {
  return SYMBOLIC_PREFIX + target;
}

export function isSymbolicValue(value: string): boolean {
  return value.startsWith(SYMBOLIC_PREFIX);
}

export function symbolicTarget(value: string): string | null {
  return value.startsWith(SYMBOLIC_PREFIX) ? value.slice(SYMBOLIC_PREFIX.length) : null;
}

export function isRefValue(value: unknown): value is RefValue {
  if (typeof value !== "string") return false;
  if (isOid(value)) return true;
  const target = symbolicTarget(value);
  return target !== null && isValidRefName(target);
}

export function encodeRefFile(value: RefValue): Buffer {
  return Buffer.from(value + "\n", "utf8");
}

/** The value in a ref file's bytes, or null when they are not a valid ref file. */
export function decodeRefFile(bytes: Uint8Array): RefValue | null {
  const text = Buffer.from(bytes).toString("utf8");
  if (!text.endsWith("\n")) return null;
  const value = text.slice(0, -1);
  return isRefValue(value) ? value : null;
}

export function encodeApplied(seq: number): Buffer {
  return Buffer.from(`${seq}\n`, "utf8");
}

export function decodeApplied(bytes: Uint8Array): number | null {
  const text = Buffer.from(bytes).toString("utf8");
  if (!/^(0|[1-9][0-9]{0,15})\n$/.test(text)) return null;
  return Number(text.slice(0, -1));
}
