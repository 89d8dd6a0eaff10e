// Parse-stack engine: the set of llama.cpp-style stacks, interned so that each distinct stack set is one lazily built DFA state.
import { CHAR, END, REF, type RuleGraph } from "./compile";

/** One parse stack as an immutable linked list; `pos` is the graph position to match next, `next` the continuation. */
export class StackNode {
  constructor(
    readonly id: number,
    readonly pos: number,
    readonly next: StackNode | null,
  ) {}
}

/** A matcher state: a canonical set of stacks whose tops are CHAR elements; `complete` when some stack is empty. */
export interface GState {
  /** Unique for the life of the engine; the key of the mask cache. */
  readonly id: number;
  readonly stacks: readonly StackNode[];
  readonly complete: boolean;
  /** Transitions by byte, filled lazily: undefined = not computed yet, null = dead. */
  trans: (GState | null | undefined)[] | undefined;
  /** Text bytes it surely absorbs (absorb.ts), filled lazily. */
  absorb: number | undefined;
}

/** After this many interned stack nodes the caches start over (states already handed out keep working). */
const MAX_NODES = 400_000;

/**
 * Owns one grammar's caches, shared by every matcher of that grammar: interned stack nodes, memoized expansions
 * (positions to CHAR-topped stacks) and interned states with their byte transitions. Stepping a seen state by a seen
 * byte is an array lookup, which is what makes masking a whole vocabulary affordable.
 */
export class GrammarEngine {
  private nodes = new Map<number, StackNode>();
  private memo = new Map<number, StackNode[]>();
  private states = new Map<string, GState>();
  private nextNodeId = 1;
  private nextStateId = 0;
  private readonly P: number;
  /** The stack of a completed parse (nothing left to match). */
  private readonly EMPTY = new StackNode(0, -1, null);
  readonly initial: GState;
  /** Bytes no charset of the grammar tells apart step every state alike: one step fills the whole class. */
  private readonly classMembers: readonly (readonly number[])[];
  private readonly byteClass = new Uint8Array(256);

  constructor(readonly graph: RuleGraph) {
    this.P = graph.kind.length + 1;
    const sets = graph.charsets.length / 8;
    const classes = new Map<string, number[]>();
    for (let b = 0; b < 256; b++) {
      let sig = "";
      for (let i = 0; i < sets; i++) sig += (graph.charsets[i * 8 + (b >> 5)]! >>> (b & 31)) & 1;
      let members = classes.get(sig);
      if (!members) classes.set(sig, (members = []));
      members.push(b);
    }
    this.classMembers = [...classes.values()];
    this.classMembers.forEach((members, c) => members.forEach((b) => (this.byteClass[b] = c)));
    const out: StackNode[] = [];
    const seen = new Set<number>();
    for (const alt of graph.ruleAlts[graph.root]!) this.addAll(this.expand(alt, null), out, seen);
    this.initial = this.intern(out);
  }

  /** The state after `byte`, or null when no stack accepts it. */
  step(state: GState, byte: number): GState | null {
    const t = state.trans?.[byte];
    if (t !== undefined) return t;
    const { kind, arg, charsets } = this.graph;
    let out: StackNode[] | undefined;
    let merged = false;
    for (const s of state.stacks) {
      if (s.pos < 0 || kind[s.pos] !== CHAR) continue;
      if (((charsets[arg[s.pos]! * 8 + (byte >> 5)]! >>> (byte & 31)) & 1) === 0) continue;
      const list = this.expand(s.pos + 1, s.next);
      if (out === undefined) out = list; // usually one stack survives: reuse its memoized list as is
      else {
        if (!merged) (out = [...out]), (merged = true);
        for (const n of list) if (!out.includes(n)) out.push(n);
      }
    }
    const next = out === undefined ? null : this.intern(out);
    // A packed array (filled, not holey) keeps the lookups in the mask walk fast.
    const trans = (state.trans ??= new Array<GState | null | undefined>(256).fill(undefined));
    for (const b of this.classMembers[this.byteClass[byte]!]!) trans[b] = next;
    return next;
  }

  /** The state after `bytes`, or null. */
  stepBytes(state: GState | null, bytes: ArrayLike<number>): GState | null {
    for (let i = 0; i < bytes.length && state; i++) state = this.step(state, bytes[i]!);
    return state;
  }

  private addAll(list: readonly StackNode[], out: StackNode[], seen: Set<number>): void {
    for (const n of list) {
      if (!seen.has(n.id)) {
        seen.add(n.id);
        out.push(n);
      }
    }
  }

  private node(pos: number, next: StackNode | null): StackNode {
    const key = pos + this.P * (next ? next.id : 0);
    let n = this.nodes.get(key);
    if (!n) {
      n = new StackNode(this.nextNodeId++, pos, next);
      this.nodes.set(key, n);
    }
    return n;
  }

  /** The CHAR-topped stacks (or EMPTY) reachable from matching at `pos` with continuation `next`, memoized. */
  private expand(pos: number, next: StackNode | null): StackNode[] {
    const key = pos + this.P * (next ? next.id : 0);
    const hit = this.memo.get(key);
    if (hit) return hit;
    const { kind, arg, ruleAlts } = this.graph;
    let out: StackNode[];
    if (kind[pos] === END) out = next === null ? [this.EMPTY] : this.expand(next.pos, next.next);
    else if (kind[pos] === CHAR) out = [this.node(pos, next)];
    else {
      if (kind[pos] !== REF) throw new Error(`grammar graph: bad element at ${pos}`);
      // Tail call: a rule reference at the end of an alternative pushes nothing, so right recursion keeps stacks flat.
      const cont = kind[pos + 1] === END ? next : this.node(pos + 1, next);
      out = [];
      const seen = new Set<number>();
      for (const alt of ruleAlts[arg[pos]!]!) this.addAll(this.expand(alt, cont), out, seen);
    }
    this.memo.set(key, out);
    return out;
  }

  private intern(list: readonly StackNode[]): GState {
    const stacks = list.length === 1 ? (list as StackNode[]) : [...list].sort((a, b) => a.id - b.id);
    let key = String(stacks[0]!.id);
    for (let i = 1; i < stacks.length; i++) key += "," + stacks[i]!.id;
    let st = this.states.get(key);
    if (!st) {
      if (this.nodes.size > MAX_NODES) this.reset();
      st = { id: this.nextStateId++, stacks, complete: stacks[0]!.id === 0, trans: undefined, absorb: undefined };
      this.states.set(key, st);
    }
    return st;
  }

  /** Drops the interning tables (memory bound); ids keep increasing, so old and new states never share a mask key. */
  private reset(): void {
    this.nodes = new Map();
    this.memo = new Map();
    this.states = new Map();
  }

  /** Rough bytes of the interning tables: nodes and memo entries, states with a 256-slot transition array. */
  get approxBytes(): number {
    return this.nodes.size * 80 + this.memo.size * 96 + this.states.size * 2200;
  }

  /** Interned states so far (for tests and stats). */
  get stateCount(): number {
    return this.states.size;
  }
}
