// Public surface of the GGUF layer: reader, writer, value constructors, metadata getters, key names and the data model.
export * from "./types";
export * from "./ggml-types";
export { GgufError, GgufHeaderTooLarge } from "./errors";
export { readGguf, tensorData, GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, type GgufFile, type ReadGgufOptions } from "./reader";
export { readGgufHeader, type GgufHeader } from "./header";
export { writeGguf, type GgufTensorSpec, type GgufWriteSpec } from "./writer";
export { gguf, valueTypeName } from "./values";
export { metaString, metaOptString, metaNumber, metaOptNumber, metaBool, metaOptBool, metaArray, metaOptArray } from "./metadata";
export { KEY, ARCH_KEY, archKey, type ArchKeySuffix } from "./keys";
