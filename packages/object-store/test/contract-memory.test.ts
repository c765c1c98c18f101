import { createMemoryBackend, openObjectStore } from "../src/index.js";
import { describeStoreContract } from "./contract.js";

describeStoreContract("memory", async () => {
  const backend = createMemoryBackend();
  return {
    open: (options) => openObjectStore({ ...options, backend }),
    async corrupt(oid, bytes) {
      backend.setRaw(oid, bytes);
    },
    async setMtime(oid, mtimeMs) {
      const bytes = await backend.read(oid);
      backend.setRaw(oid, bytes, mtimeMs);
    },
    debris: async () => [],
    cleanup: async () => {},
  };
});
