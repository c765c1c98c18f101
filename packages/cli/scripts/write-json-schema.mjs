// Writes json-schema/<type>.schema.json for every --json output of the snap command, from
// the built dist (run after tsup). The files are build output, published with the package.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { OUTPUT_DEFINITIONS } from "../dist/index.js";

const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "json-schema");
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(outDir)) {
  if (file.endsWith(".schema.json")) rmSync(join(outDir, file));
}
for (const definition of OUTPUT_DEFINITIONS) {
  // io "output": the shape snap prints.
  const jsonSchema = z.toJSONSchema(definition.schema, { io: "output", unrepresentable: "any" });
  writeFileSync(join(outDir, `${definition.name}.schema.json`), `${JSON.stringify(jsonSchema, null, 2)}\n`);
}
console.error(`wrote ${OUTPUT_DEFINITIONS.length} JSON Schemas to ${outDir}`);
