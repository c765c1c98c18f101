import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFINITIONS } from "../src/index.js";

const PACKAGE = join(import.meta.dirname, "..");
const DIR = join(PACKAGE, "json-schema");

type JsonSchema = Record<string, unknown>;

/**
 * A structural JSON Schema check, enough for what z.toJSONSchema emits for our records
 * (type, const, enum, properties, required, additionalProperties, propertyNames, items,
 * prefixItems (tuples), minItems/maxItems, boolean schemas, anyOf, $ref into $defs,
 * string/number bounds, pattern). Returns the failing paths.
 */
function validate(schema: JsonSchema | boolean, value: unknown, root: JsonSchema = schema as JsonSchema, path = ""): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path || "/"}: not allowed (false schema)`];
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.replace(/^#\/\$defs\//, "");
    return validate((root.$defs as Record<string, JsonSchema>)[target]!, value, root, path);
  }
  const errors: string[] = [];
  const fail = (why: string) => errors.push(`${path || "/"}: ${why}`);
  if (Array.isArray(schema.anyOf)) {
    if (!(schema.anyOf as JsonSchema[]).some((s) => validate(s, value, root, path).length === 0)) fail("no anyOf branch matches");
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const actual =
      value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
    if (!types.some((t) => t === actual || (t === "number" && actual === "integer"))) return [`${path || "/"}: expected ${types.join("|")}, got ${actual}`];
  }
  if ("const" in schema && schema.const !== value) fail(`expected const ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) fail("not in enum");
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) fail("too short");
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) fail("too long");
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) fail(`does not match ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) fail("below minimum");
    if (typeof schema.maximum === "number" && value > schema.maximum) fail("above maximum");
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) fail("not above exclusiveMinimum");
  }
  if (Array.isArray(value)) {
    const prefix = (Array.isArray(schema.prefixItems) ? schema.prefixItems : []) as JsonSchema[];
    if (typeof schema.minItems === "number" && value.length < schema.minItems) fail("too few items");
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) fail("too many items");
    value.forEach((item, i) => {
      if (i < prefix.length) errors.push(...validate(prefix[i]!, item, root, `${path}/${i}`));
      else if (schema.items !== undefined) errors.push(...validate(schema.items as JsonSchema | boolean, item, root, `${path}/${i}`));
    });
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) fail(`missing required ${key}`);
    for (const [key, child] of Object.entries(obj)) {
      if (key in properties) errors.push(...validate(properties[key]!, child, root, `${path}/${key}`));
      else if (schema.additionalProperties === false) fail(`unexpected property ${key}`);
      else if (typeof schema.additionalProperties === "object") {
        errors.push(...validate(schema.additionalProperties as JsonSchema, child, root, `${path}/${key}`));
      }
    }
  }
  return errors;
}

describe("JSON Schema export (json-schema/<name>.schema.json, written by pnpm build)", () => {
  it("has exactly one file per registered schema", () => {
    expect(existsSync(DIR), "json-schema/ is missing: run `pnpm build` first").toBe(true);
    const files = readdirSync(DIR).filter((f) => f.endsWith(".schema.json")).sort();
    expect(files).toEqual(DEFINITIONS.map((d) => `${d.name}.schema.json`).sort());
  });

  describe.each(DEFINITIONS.map((d) => [d.name, d] as const))("%s.schema.json", (name, d) => {
    const read = (): JsonSchema => JSON.parse(readFileSync(join(DIR, `${name}.schema.json`), "utf8")) as JsonSchema;

    it("is a draft 2020-12 schema titled with the record type, requiring type and schema_version", () => {
      const schema = read();
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(schema.title).toBe(name);
      expect(schema.description).toBe(d.description);
      expect((schema.properties as Record<string, JsonSchema>).type).toEqual({ type: "string", const: name });
      expect((schema.properties as Record<string, JsonSchema>).schema_version).toEqual({ type: "integer", minimum: 1, maximum: d.version });
      expect(schema.required).toEqual(expect.arrayContaining(["type", "schema_version"]));
    });

    it("validates the schema's example and rejects it with a wrong type or a newer version", () => {
      const schema = read();
      expect(validate(schema, d.example)).toEqual([]);
      expect(validate(schema, { ...d.example, type: "other" })).not.toEqual([]);
      expect(validate(schema, { ...d.example, schema_version: d.version + 1 })).not.toEqual([]);
      const { type: _dropped, ...withoutType } = d.example as Record<string, unknown>;
      expect(validate(schema, withoutType)).not.toEqual([]);
    });
  });

  it("is published: listed in files and exported as ./json-schema/*", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as {
      files: string[];
      exports: Record<string, unknown>;
      scripts: Record<string, string>;
    };
    expect(pkg.files).toContain("json-schema");
    expect(pkg.exports["./json-schema/*"]).toBe("./json-schema/*");
    expect(pkg.scripts.build).toBe("tsup && node scripts/write-json-schema.mjs");
  });
});
