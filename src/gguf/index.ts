// Public surface of the GGUF layer: reader, writer, metadata getters, key names and the data model.
export * from "./types";
export * from "./ggml-types";
export { GgufError } from "./errors";
export { readGguf, tensorData, type GgufFile, type ReadGgufOptions } from "./reader";
export { writeGguf, gguf, type GgufTensorSpec, type GgufWriteSpec } from "./writer";
export { metaString, metaOptString, metaNumber, metaOptNumber, metaOptBool, metaArray, metaOptArray } from "./metadata";
export { KEY, ARCH_KEY, archKey } from "./keys";
