export * from "./format.js";
export * from "./decode.js";
export * from "./schema.js";
