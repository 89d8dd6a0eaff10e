// Lowers grammar AST rules to the byte-level rule graph the matcher walks: flat positions of byte sets, rule refs and ends.
import type { CpRange, GNode, GRule } from "./ast";
import { GrammarError, gbnfError } from "./errors";
import { utf8Sequences } from "./utf8";

/** Element kinds at a position of RuleGraph. */
export const END = 0;
export const CHAR = 1;
export const REF = 2;

/**
 * The compiled grammar: each rule is a list of alternatives laid out in `kind`/`arg` as runs of elements closed by END.
 * CHAR elements match one byte from a 256-bit set (`charsets`, 8 words per set); REF elements expand a rule.
 */
export interface RuleGraph {
  readonly kind: Uint8Array;
  readonly arg: Int32Array;
  readonly charsets: Uint32Array;
  readonly ruleAlts: readonly (readonly number[])[];
  readonly ruleNames: readonly string[];
  readonly root: number;
}

type Elem = { c: number } | { r: number };

/** Compiles parsed rules; `source` (the GBNF text) only locates errors. Requires a `root` rule. */
export function compileRules(rules: readonly GRule[], source = ""): RuleGraph {
  const ruleIds = new Map<string, number>();
  const names: string[] = [];
  const bodies: Elem[][][] = [];
  const newRule = (name: string): number => {
    names.push(name);
    bodies.push([]);
    return names.length - 1;
  };
  for (const r of rules) ruleIds.set(r.name, newRule(r.name));

  const setIds = new Map<string, number>();
  const sets: number[] = [];
  const byteSet = (lo: number, hi: number, into = new Uint32Array(8)): Uint32Array => {
    for (let b = lo; b <= hi; b++) into[b >> 5]! |= 1 << (b & 31);
    return into;
  };
  const internSet = (words: Uint32Array): number => {
    const key = words.join(",");
    let id = setIds.get(key);
    if (id === undefined) {
      id = setIds.size;
      setIds.set(key, id);
      sets.push(...words);
    }
    return id;
  };
  const classRules = new Map<string, number>();

  const lowerClass = (ranges: readonly CpRange[], owner: string): Elem => {
    const seqs = utf8Sequences(ranges);
    const single = new Uint32Array(8);
    const multi = seqs.filter((s) => s.length > 1);
    for (const s of seqs) if (s.length === 1) byteSet(s[0]![0], s[0]![1], single);
    if (multi.length === 0) return { c: internSet(single) };
    const key = ranges.map((r) => r.join("-")).join(",");
    let id = classRules.get(key);
    if (id === undefined) {
      id = newRule(`${owner}-char${classRules.size}`);
      classRules.set(key, id);
      const alts: Elem[][] = multi.map((s) => s.map(([lo, hi]) => ({ c: internSet(byteSet(lo, hi)) })));
      if (single.some((w) => w !== 0)) alts.unshift([{ c: internSet(single) }]);
      bodies[id] = alts;
    }
    return { r: id };
  };

  /** Appends the elements of `node` to `out`; composite parts become generated rules named after `owner`. */
  const lower = (node: GNode, owner: string, out: Elem[]): void => {
    switch (node.k) {
      case "lit":
        for (const b of node.bytes) out.push({ c: internSet(byteSet(b, b)) });
        return;
      case "class":
        if (node.ranges.length === 0) throw new GrammarError("gbnf", `rule '${owner}': empty character class matches nothing`);
        out.push(lowerClass(node.ranges, owner));
        return;
      case "ref": {
        const id = ruleIds.get(node.name);
        if (id === undefined) throw gbnfError(source, node.at, `undefined rule '${node.name}'`);
        out.push({ r: id });
        return;
      }
      case "seq":
        for (const it of node.items) lower(it, owner, out);
        return;
      case "alt": {
        const id = newRule(`${owner}-${names.length}`);
        bodies[id] = node.alts.map((a) => {
          const seq: Elem[] = [];
          lower(a, owner, seq);
          return seq;
        });
        out.push({ r: id });
        return;
      }
      case "rep": {
        const tmp: Elem[] = [];
        lower(node.item, owner, tmp);
        let unit: Elem;
        if (tmp.length === 1) unit = tmp[0]!;
        else {
          const id = newRule(`${owner}-${names.length}`);
          bodies[id] = [tmp];
          unit = { r: id };
        }
        for (let i = 0; i < node.min; i++) out.push(unit);
        if (node.max === Infinity) {
          // x* as the right-recursive `s ::= x s | ` (llama.cpp does the same), so stacks stay shallow.
          const id = newRule(`${owner}-${names.length}`);
          bodies[id] = [[unit, { r: id }], []];
          out.push({ r: id });
        } else if (node.max > node.min) {
          // x{0,k} as nested optionals: opt_k ::= x opt_{k-1} | .
          let inner = -1;
          for (let j = 0; j < node.max - node.min; j++) {
            const id = newRule(`${owner}-${names.length}`);
            bodies[id] = [inner < 0 ? [unit] : [unit, { r: inner }], []];
            inner = id;
          }
          out.push({ r: inner });
        }
        return;
      }
    }
  };

  for (const r of rules) {
    const id = ruleIds.get(r.name)!;
    const body = r.body.k === "alt" ? r.body.alts : [r.body];
    bodies[id] = body.map((a) => {
      const seq: Elem[] = [];
      lower(a, r.name, seq);
      return seq;
    });
  }
  checkLeftRecursion(bodies, names, rules, source);

  const kind: number[] = [];
  const arg: number[] = [];
  const ruleAlts = bodies.map((alts) =>
    alts.map((seq) => {
      const start = kind.length;
      for (const e of seq) {
        kind.push("c" in e ? CHAR : REF);
        arg.push("c" in e ? e.c : e.r);
      }
      kind.push(END);
      arg.push(-1);
      return start;
    }),
  );
  return { kind: Uint8Array.from(kind), arg: Int32Array.from(arg), charsets: Uint32Array.from(sets), ruleAlts, ruleNames: names, root: ruleIds.get("root")! };
}

/** Left recursion (a rule reachable from itself before any byte is consumed) would make stack expansion loop forever. */
function checkLeftRecursion(bodies: Elem[][][], names: string[], rules: readonly GRule[], source: string): void {
  const nullable = new Array<boolean>(bodies.length).fill(false);
  for (let changed = true; changed; ) {
    changed = false;
    bodies.forEach((alts, i) => {
      if (!nullable[i] && alts.some((seq) => seq.every((e) => "r" in e && nullable[e.r]))) changed = nullable[i] = true;
    });
  }
  const state = new Uint8Array(bodies.length); // 0 new, 1 on the DFS path, 2 done
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      const at = rules.find((r) => names[i]!.startsWith(r.name))?.at ?? 0;
      throw gbnfError(source, Math.max(at, 0), `rule '${names[i]}' is left-recursive (directly or through empty-matching parts)`);
    }
    state[i] = 1;
    for (const seq of bodies[i]!) {
      for (const e of seq) {
        if ("c" in e) break;
        visit(e.r);
        if (!nullable[e.r]) break;
      }
    }
    state[i] = 2;
  };
  for (let i = 0; i < bodies.length; i++) visit(i);
}
