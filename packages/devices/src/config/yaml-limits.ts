// Bounds on a YAML config document, checked before it is parsed, by the agent for its own file and
// for CONFIG_PUSH, and by the hub's validator (the same function, so the limits are the same).
//
// The `yaml` package composes documents recursively and has quadratic steps, so a small hostile
// text can exhaust it: 1,500 nested `? ` keys overflow the stack (and V8 can then abort the whole
// process while compiling a regular expression near the limit), nested collection keys are
// stringified at exponential cost, and 30,000 keys in one mapping take minutes to check for
// duplicates. The check below runs the package's own lexer (iterative, one pass, no recursion),
// so quoting, comments and block scalars are read exactly as the parser will read them, and it
// stops at the first limit exceeded. Parsing then runs with `uniqueKeys: false` (duplicates are
// found in linear time afterwards) and a bounded alias expansion.
import type { Problem } from '@wattfleet/protocol';
import { CST, Lexer } from 'yaml';

export interface YamlLimits {
  /** Characters of the whole document (CONFIG_PUSH and the validator allow the same). */
  maxChars: number;
  /** Nesting estimate (an upper bound on the real depth: two per open column plus open flows). */
  maxDepth: number;
  /** Scalars, collection starts and entry indicators. */
  maxNodes: number;
  maxAnchors: number;
  /** Alias uses in the text; their expansion is bounded again by maxAliasCount when resolved. */
  maxAliases: number;
}

export const CONFIG_LIMITS: YamlLimits = {
  maxChars: 262_144,
  maxDepth: 64,
  maxNodes: 10_000,
  maxAnchors: 100,
  maxAliases: 100,
};

/** Options for every parse of a config document; pair them with yamlLimitProblems first. */
export const SAFE_YAML_OPTIONS = { uniqueKeys: false, prettyErrors: false } as const;
export const MAX_ALIAS_EXPANSION = 100;

/**
 * The first limit the text exceeds, as a problem located on its line ("line L:C"), or none.
 * Linear in the text and allocation-light: a generator of string tokens walked once.
 */
export function yamlLimitProblems(text: string, limits: YamlLimits = CONFIG_LIMITS): Problem[] {
  if (text.length > limits.maxChars) {
    return [{ path: 'line 1:1', message: `the document is longer than ${limits.maxChars} characters` }];
  }
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  let afterScalarMarker = false;
  let flow = 0;
  let nodes = 0;
  let anchors = 0;
  let aliases = 0;
  // Columns of block structure still open above the current position.
  const columns: number[] = [];
  const fail = (message: string): Problem[] => [{ path: `line ${line}:${pos - lineStart + 1}`, message }];
  for (const token of new Lexer().lex(text)) {
    const type = afterScalarMarker ? 'content' : CST.tokenType(token);
    const col = pos - lineStart;
    afterScalarMarker = token === CST.SCALAR;
    if (
      type !== 'content' &&
      type !== 'space' &&
      type !== 'newline' &&
      type !== 'comment' &&
      type !== 'doc-mode'
    ) {
      // A value indicator opens nothing itself (what follows it does), so it is not a column.
      if (flow === 0 && type !== 'map-value-ind') {
        // The first token of a line closes every block collection that started further right.
        if (atLineStart) while (columns.length > 0 && columns[columns.length - 1]! > col) columns.pop();
        if (columns.length === 0 || columns[columns.length - 1]! < col) columns.push(col);
      }
      atLineStart = false;
      switch (type) {
        case 'flow-seq-start':
        case 'flow-map-start':
          flow++;
          nodes++;
          break;
        case 'flow-seq-end':
        case 'flow-map-end':
          if (flow > 0) flow--;
          break;
        case 'anchor':
          if (++anchors > limits.maxAnchors) return fail(`more than ${limits.maxAnchors} anchors`);
          break;
        case 'alias':
          if (++aliases > limits.maxAliases) return fail(`more than ${limits.maxAliases} aliases`);
          nodes++;
          break;
        case 'scalar':
        case 'single-quoted-scalar':
        case 'double-quoted-scalar':
        case 'seq-item-ind':
        case 'explicit-key-ind':
        case 'map-value-ind':
          nodes++;
          break;
      }
      if (nodes > limits.maxNodes) return fail(`more than ${limits.maxNodes} values and entries`);
      if (2 * columns.length + flow > limits.maxDepth) {
        return fail(`nested deeper than the limit (${limits.maxDepth})`);
      }
    }
    // Advance, keeping line and column for the next token.
    pos += token.length;
    const nl = token.lastIndexOf('\n');
    if (nl !== -1) {
      for (let i = 0; i < token.length; i++) if (token.charCodeAt(i) === 10) line++;
      lineStart = pos - token.length + nl + 1;
      if (type === 'newline' || type === 'content' || type === 'space') atLineStart = true;
    }
  }
  return [];
}
