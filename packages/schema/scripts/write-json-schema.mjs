// Writes json-schema/<name>.schema.json for every registered record schema, from the built
// dist (run after tsup). The files are build output, published with the package.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DEFINITIONS } from "../dist/index.js";

const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "json-schema");
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(outDir)) {
  if (file.endsWith(".schema.json")) rmSync(join(outDir, file));
}
for (const definition of DEFINITIONS) {
  // io "input": the shape a writer must produce (no defaults or transforms are applied by readers).
  const jsonSchema = z.toJSONSchema(definition.schema, { io: "input" });
  writeFileSync(join(outDir, `${definition.name}.schema.json`), `${JSON.stringify(jsonSchema, null, 2)}\n`);
}
console.error(`wrote ${DEFINITIONS.length} JSON Schemas to ${outDir}`);
