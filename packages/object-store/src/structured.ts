/**
 * Structured objects: JSON values stored as RFC 8785 canonical JSON (one encoding per value,
 * so one oid per value). Every structured object carries a string `type` and an integer
 * `schema_version` >= 1. When `type` names a schema registered in @snap/schema, the object is
 * validated by it on write and on read, and a `schema_version` newer than this build reads
 * is refused (`schema_version_unsupported`) instead of being misread.
 *
 * This module is the only encoder and decoder of structured objects.
 */
import { canonicalBytes, getDefinition, isSnapError, parseCanonical, parseVersioned, SnapError } from "@snap/schema";

/** The fields every structured object has. */
export interface StructuredObject {
  type: string;
  schema_version: number;
  [field: string]: unknown;
}

function checkHeader(value: unknown, during: "put" | "get", oid?: string): StructuredObject {
  const where = oid === undefined ? "" : ` ${oid}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SnapError("object_invalid", `structured object${where} is not a JSON object`, { data: { oid, during } });
  }
  const { type, schema_version: version } = value as { type?: unknown; schema_version?: unknown };
  if (typeof type !== "string" || type === "") {
    throw new SnapError("object_invalid", `structured object${where} has no string "type"`, { data: { oid, during } });
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new SnapError("object_invalid", `structured object${where} (${type}) has no integer "schema_version" >= 1`, {
      data: { oid, during, type },
    });
  }
  return value as StructuredObject;
}

/** Validates against the registered schema, if any; schema_invalid becomes object_invalid. */
function validate(obj: StructuredObject, during: "put" | "get", oid?: string): StructuredObject {
  const definition = getDefinition(obj.type);
  if (definition === undefined) return obj;
  try {
    return parseVersioned(definition.schema, obj) as StructuredObject;
  } catch (err) {
    if (isSnapError(err, "schema_invalid")) {
      throw new SnapError("object_invalid", `${oid === undefined ? "" : `object ${oid}: `}${err.message}`, {
        data: { ...err.data, oid, during },
        cause: err,
      });
    }
    if (isSnapError(err, "schema_version_unsupported")) {
      throw new SnapError(err.code, `${oid === undefined ? "" : `object ${oid}: `}${err.message}`, {
        data: { ...err.data, oid, during },
        hint: err.hint,
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * The bytes to store for `value`: validated, then canonical JSON. The value as written is
 * encoded (not zod's output, which could drop or default fields), so what is hashed is
 * exactly what the caller gave.
 */
export function encodeStructured(value: unknown): Uint8Array {
  const obj = checkHeader(value, "put");
  validate(obj, "put");
  try {
    return canonicalBytes(obj);
  } catch (err) {
    if (isSnapError(err, "canonical_json_invalid")) {
      throw new SnapError("object_invalid", `structured object cannot be stored: ${err.message}`, {
        data: { ...err.data, during: "put" },
        cause: err,
      });
    }
    throw err;
  }
}

/** Parses and validates stored bytes (already verified against `oid`). */
export function decodeStructured(bytes: Uint8Array, oid: string): StructuredObject {
  let parsed: unknown;
  try {
    parsed = parseCanonical(bytes);
  } catch (err) {
    if (isSnapError(err, "canonical_json_invalid")) {
      throw new SnapError("object_invalid", `object ${oid} is not a structured object: ${err.message}`, {
        data: { oid, during: "get", reason: err.data.reason },
        cause: err,
      });
    }
    throw err;
  }
  return validate(checkHeader(parsed, "get", oid), "get", oid);
}
