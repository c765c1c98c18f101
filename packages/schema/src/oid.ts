/**
 * Object ids: the lowercase hex sha256 of an object's stored bytes (a blob's oid equals
 * `sha256sum` of the file; a structured object's oid is the sha256 of its canonical JSON).
 */
import { createHash } from "node:crypto";
import { SnapError } from "./errors.js";

const OID = /^[0-9a-f]{64}$/;

/** The oid of `bytes` (a string is hashed as its UTF-8 bytes). */
export function oidOf(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** True when `s` is exactly 64 lowercase hex characters. */
export function isOid(s: unknown): s is string {
  return typeof s === "string" && OID.test(s);
}

/** Throws SnapError `oid_invalid` unless `s` is an oid. */
export function assertOid(s: unknown, what = "oid"): asserts s is string {
  if (!isOid(s)) {
    const shown = typeof s === "string" ? JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s) : typeof s;
    throw new SnapError("oid_invalid", `${what} is not a lowercase sha256 oid: ${shown}`, {
      data: { value: typeof s === "string" ? s.slice(0, 200) : null, type: typeof s },
      hint: "an oid is exactly 64 lowercase hex characters",
    });
  }
}

/** The first `n` characters of an oid, for display (default 12, like git's abbreviations). */
export function shortOid(oid: string, n = 12): string {
  assertOid(oid);
  if (!Number.isInteger(n) || n < 4 || n > 64) {
    throw new SnapError("invalid_argument", `shortOid length must be an integer from 4 to 64, got ${n}`, {
      data: { n },
    });
  }
  return oid.slice(0, n);
}

/** Incremental oid computation for streamed puts: hash while writing, bounded memory. */
export interface OidHasher {
  /** Feed the next chunk; returns the hasher for chaining. */
  update(chunk: Uint8Array | string): OidHasher;
  /** The oid of everything fed so far; the hasher cannot be used afterwards. */
  digest(): string;
  /** Bytes fed so far. */
  readonly bytes: number;
}

export function createOidHasher(): OidHasher {
  const hash = createHash("sha256");
  let bytes = 0;
  let done = false;
  const ensureOpen = (op: string): void => {
    if (done) throw new SnapError("closed", `OidHasher.${op}() called after digest()`);
  };
  const hasher: OidHasher = {
    update(chunk) {
      ensureOpen("update");
      bytes += typeof chunk === "string" ? Buffer.byteLength(chunk, "utf8") : chunk.byteLength;
      hash.update(chunk);
      return hasher;
    },
    digest() {
      ensureOpen("digest");
      done = true;
      return hash.digest("hex");
    },
    get bytes() {
      return bytes;
    },
  };
  return hasher;
}
