// The README's usage example, run by readme.test.ts. Edit both together (the test checks
// that the README's code block is this region, with the import path of the published package).
// #region readme
import assert from "node:assert/strict";
import { SCHEMAS, canonicalBytes, isSnapError, oidOf, parseCanonical, parseVersioned } from "../src/index.js";

const html = "<h1>hello</h1>";
const artifact = parseVersioned(SCHEMAS.artifact, {
  type: "artifact",
  schema_version: 1,
  label: "site/index.html",
  artifact_type: "page",
  content_oid: oidOf(html), // a blob's oid is the sha256 of its raw bytes
  size: Buffer.byteLength(html),
  parent_labels: [],
  metadata: { lang: "en" },
});

// A structured object is stored as canonical JSON and named by the sha256 of those bytes.
const bytes = canonicalBytes(artifact);
const oid = oidOf(bytes);
assert.equal(new TextDecoder().decode(bytes).slice(0, 30), '{"artifact_type":"page","conte');

// Reading it back: the bytes must be exactly canonical, then match the schema.
const again = parseVersioned(SCHEMAS.artifact, parseCanonical(bytes));
assert.deepEqual(again, artifact);

// A record written by a newer snap is refused with a typed error, never misread.
try {
  parseVersioned(SCHEMAS.artifact, { ...artifact, schema_version: 2 });
  assert.fail("expected schema_version_unsupported");
} catch (err) {
  assert.ok(isSnapError(err, "schema_version_unsupported"));
  assert.deepEqual(err.data, { type: "artifact", found: 2, supported: 1 });
}
// #endregion

export { oid };
