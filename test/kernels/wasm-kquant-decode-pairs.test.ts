// Q4_K / Q5_K two-panel decode (fused dot-adds forced on) against the one-panel i16 decode, in Node.
import "../../src/backends/wasm/load-node";
import { kquantDecodeOnePanelCases, kquantDecodePairCases, q4kHeaderCases } from "./kquant-decode-pairs.case";

kquantDecodePairCases("Node");
q4kHeaderCases("Node");
kquantDecodeOnePanelCases("Node");
