export { default } from "../../config/tsup.base.js";
