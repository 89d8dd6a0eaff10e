// Q4_K / Q5_K two-panel decode (fused dot-adds forced on) against the one-panel i16 decode, in workerd.
import "../../src/backends/wasm/load-workers";
import { kquantDecodeOnePanelCases, kquantDecodePairCases, q4kHeaderCases } from "../kernels/kquant-decode-pairs.case";

kquantDecodePairCases("workerd");
q4kHeaderCases("workerd");
kquantDecodeOnePanelCases("workerd");
