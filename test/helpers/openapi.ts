/**
 * The served OpenAPI document as a contract tests hold responses to: which operations
 * exist, and whether a given answer (status, media type, body) is one the document
 * declares. Schemas are checked with Ajv's JSON Schema 2020-12 build, the dialect
 * OpenAPI 3.1 uses; `$ref`s resolve inside the document itself.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ApiRole } from '../../deploy/db/schema.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiResponse {
  description: string;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  'x-kickcall-role': ApiRole;
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiResponse>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/** One operation with where it lives: `method` upper case, `path` as the document writes it (`{param}`). */
export interface Operation extends OpenApiOperation {
  method: string;
  path: string;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })));
}

/** An answer as the contract sees it. */
export interface Answer {
  status: number;
  /** The Content-Type header, parameters included; empty when there is none. */
  contentType: string;
  /** The raw body text. */
  text: string;
}

export const problemMediaType = 'application/problem+json';
export const problemTypeBase = 'https://kickcall.dev/problems/';

const mediaTypeOf = (contentType: string) => contentType.split(';')[0]?.trim().toLowerCase() ?? '';

/** JSON Pointer escaping (RFC 6901). */
const pointer = (...parts: string[]) => parts.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const docId = 'https://kickcall.dev/openapi.json';

/**
 * Holds answers to the document. `check` says what is wrong with one (nothing: `[]`);
 * every checked answer is remembered, so a test can ask which operations it has seen
 * succeed.
 */
export class ContractValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly operations: Operation[];
  /** operationId → the statuses seen. */
  readonly seen = new Map<string, Set<number>>();

  constructor(readonly doc: OpenApiDocument) {
    this.ajv.addSchema(doc, docId);
    this.operations = operationsOf(doc);
  }

  /**
   * The operation a request addressed, from a concrete path (`/v1/agents/sales?x=1`) or a
   * template (`/v1/agents/{agentId}`); literal segments win over parameters.
   */
  operationFor(method: string, path: string): Operation | undefined {
    const segments = (path.split('?')[0] ?? '').split('/');
    let best: { op: Operation; params: number } | undefined;
    for (const op of this.operations) {
      if (op.method !== method.toUpperCase()) continue;
      const template = op.path.split('/');
      if (template.length !== segments.length) continue;
      const isParam = template.map((t) => /^\{\w+\}$/.test(t));
      const matches = template.every((t, i) => (isParam[i] ? segments[i] !== '' : t === segments[i]));
      const params = isParam.filter(Boolean).length;
      if (matches && (!best || params < best.params)) best = { op, params };
    }
    return best?.op;
  }

  private validator(ref: string): ValidateFunction {
    let v = this.compiled.get(ref);
    if (!v) {
      v = this.ajv.getSchema(`${docId}#${ref}`);
      if (!v) throw new Error(`the document has no schema at ${ref}`);
      this.compiled.set(ref, v);
    }
    return v;
  }

  private schemaErrors(ref: string, body: unknown): string[] {
    const v = this.validator(ref);
    if (v(body)) return [];
    return (v.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
  }

  /** What is wrong with `answer` as a response of `method path`; `[]` when it keeps the contract. */
  check(method: string, path: string, answer: Answer): string[] {
    const op = this.operationFor(method, path);
    if (!op) return [`no operation in the document for ${method} ${path}`];
    let statuses = this.seen.get(op.operationId);
    if (!statuses) this.seen.set(op.operationId, (statuses = new Set()));
    statuses.add(answer.status);

    const declared = op.responses[String(answer.status)];
    if (!declared) return [`status ${answer.status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`];
    const mediaType = mediaTypeOf(answer.contentType);
    let body: unknown;
    if (answer.text !== '') {
      if (!/json$/.test(mediaType)) return [`a ${answer.status} body of media type "${mediaType}" is not JSON`];
      try {
        body = JSON.parse(answer.text);
      } catch {
        return [`the ${answer.status} body is not valid JSON`];
      }
    }
    const base = pointer('paths', op.path, op.method.toLowerCase(), 'responses', String(answer.status));
    if (declared.content) {
      if (answer.text === '') return [`status ${answer.status} declares a body (${Object.keys(declared.content).join(', ')}) but none was sent`];
      if (!declared.content[mediaType]) return [`status ${answer.status} declares ${Object.keys(declared.content).join(', ')}, not ${mediaType}`];
      return [...this.schemaErrors(`${base}${pointer('content', mediaType, 'schema')}`, body), ...this.problemMismatch(answer.status, mediaType, body)];
    }
    // A declared status without content: only a problem (which every error answer is) may carry a body.
    if (answer.text === '') return [];
    if (mediaType !== problemMediaType) return [`status ${answer.status} declares no body, yet a ${mediaType} one was sent`];
    return [...this.schemaErrors(pointer('components', 'schemas', 'Problem'), body), ...this.problemMismatch(answer.status, mediaType, body)];
  }

  /** RFC 9457: a problem's `status` is the HTTP status. */
  private problemMismatch(status: number, mediaType: string, body: unknown): string[] {
    if (mediaType !== problemMediaType) return [];
    const p = body as { status?: unknown; type?: unknown };
    const out: string[] = [];
    if (p.status !== status) out.push(`the problem says status ${String(p.status)}, the response ${status}`);
    if (typeof p.type !== 'string' || !p.type.startsWith(problemTypeBase)) out.push(`the problem type ${String(p.type)} is not under ${problemTypeBase}`);
    return out;
  }

  /** The operations some checked answer showed succeeding (2xx). */
  succeeded(): Set<string> {
    return new Set([...this.seen].filter(([, statuses]) => [...statuses].some((s) => s >= 200 && s < 300)).map(([id]) => id));
  }
}

/** What a mutated body does wrong, for grouping failures. */
export type MutationKind = 'wrong type' | 'invalid value' | 'NUL byte' | 'missing field' | 'unknown field' | 'edge value';

/** A change to a valid request body, and the field the answer should name. */
export interface BodyMutation {
  kind: MutationKind;
  label: string;
  body: unknown;
  /** As the API names it in problem details: `body.config.callsPerSecond`. */
  field: string;
  /** The schema allows the value (an edge case): the answer may be a success, never a server error. */
  allowed?: boolean;
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** One value of each JSON type; the number is deliberately not an integer. */
const typeSamples: Record<JsonType, unknown> = { string: 'text', number: 12345.5, integer: 7, boolean: true, object: { k: 1 }, array: [1], null: null };

function jsonTypeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

const branchesOf = (s: JsonSchema): JsonSchema[] => [s, ...((s.anyOf as JsonSchema[] | undefined) ?? []), ...((s.oneOf as JsonSchema[] | undefined) ?? [])];

/** The JSON types a schema accepts; empty when it says nothing (`{}`). */
function typesOf(s: JsonSchema): Set<JsonType> {
  const out = new Set<JsonType>();
  for (const b of branchesOf(s)) {
    const t = b.type;
    if (typeof t === 'string') out.add(t as JsonType);
    else if (Array.isArray(t)) for (const x of t) out.add(x as JsonType);
    if (Array.isArray(b.enum)) for (const v of b.enum) out.add(jsonTypeOf(v));
    if ('const' in b) out.add(jsonTypeOf(b.const));
    if (b !== s) for (const x of typesOf(b)) out.add(x);
  }
  return out;
}

const accepts = (types: Set<JsonType>, t: JsonType) => types.has(t) || (t === 'integer' && types.has('number'));

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** `body` with `value` at `path`, parents made as needed. */
function withValue(body: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const out = clone(body);
  let node: Record<string, unknown> = out;
  path.slice(0, -1).forEach((key) => {
    const next = node[key];
    node = (next !== null && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
  });
  node[path.at(-1)!] = value;
  return out;
}

function without(body: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const out = clone(body);
  let node = out;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path.at(-1)!];
  return out;
}

function valueAt(body: unknown, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), body);
}

/** Values a property's schema refuses (kind, label, value), and edge values it allows. */
function badValues(s: JsonSchema, current: unknown): { kind: MutationKind; label: string; value: unknown; allowed?: boolean }[] {
  const out: { kind: MutationKind; label: string; value: unknown; allowed?: boolean }[] = [];
  const types = typesOf(s);
  if (types.size === 0) return out;
  for (const [t, sample] of Object.entries(typeSamples) as [JsonType, unknown][]) {
    if (!accepts(types, t)) out.push({ kind: 'wrong type', label: `${t} instead of ${[...types].join('|')}`, value: sample });
  }
  for (const b of branchesOf(s)) {
    const n = (k: string) => (typeof b[k] === 'number' ? (b[k]) : undefined);
    const is = (t: JsonType) => b.type === t || (Array.isArray(b.type) && b.type.includes(t));
    if (is('string')) {
      if (n('maxLength') !== undefined) out.push({ kind: 'invalid value', label: `longer than ${n('maxLength')}`, value: 'x'.repeat(n('maxLength')! + 1) });
      if ((n('minLength') ?? 0) > 0) out.push({ kind: 'invalid value', label: `shorter than ${n('minLength')}`, value: 'x'.repeat(n('minLength')! - 1) });
      if (typeof b.pattern === 'string' && !new RegExp(b.pattern).test('!! not valid !!')) out.push({ kind: 'invalid value', label: 'not matching its pattern', value: '!! not valid !!' });
      if (typeof b.format === 'string') out.push({ kind: 'invalid value', label: `not a ${b.format}`, value: 'not valid' });
      if (Array.isArray(b.enum)) out.push({ kind: 'invalid value', label: 'not one of its values', value: 'not-one-of-them' });
      if (b.pattern === undefined && b.format === undefined && b.enum === undefined) {
        out.push({ kind: 'NUL byte', label: 'a NUL byte inside', value: 'a\u0000b' });
        // JSON can carry half a surrogate pair ("\ud800"); it is not text PostgreSQL can store.
        out.push({ kind: 'invalid value', label: 'an unpaired UTF-16 surrogate inside', value: 'a\ud800b' });
        if (n('maxLength') !== undefined) out.push({ kind: 'edge value', label: `${n('maxLength')} multi-byte characters`, value: '€'.repeat(n('maxLength')!), allowed: true });
      }
    }
    if (is('number') || is('integer')) {
      const step = is('number') ? 0.5 : 1;
      if (n('minimum') !== undefined) {
        out.push({ kind: 'invalid value', label: `below its minimum ${n('minimum')}`, value: n('minimum')! - step });
        out.push({ kind: 'edge value', label: 'its minimum', value: n('minimum'), allowed: true });
      }
      if (n('exclusiveMinimum') !== undefined) {
        out.push({ kind: 'invalid value', label: `not above ${n('exclusiveMinimum')}`, value: n('exclusiveMinimum') });
        const e = n('exclusiveMinimum')!;
        // 1e-300 is a positive number JSON carries and a float4 column cannot hold.
        if (is('number')) out.push({ kind: 'edge value', label: 'just above its exclusive minimum', value: e === 0 ? 1e-300 : e + Math.abs(e) * 1e-9, allowed: true });
      }
      // zod writes the safe-integer range on every integer; only real limits are worth probing.
      if (n('maximum') !== undefined && n('maximum')! < Number.MAX_SAFE_INTEGER) {
        out.push({ kind: 'invalid value', label: `above its maximum ${n('maximum')}`, value: n('maximum')! + step });
        out.push({ kind: 'edge value', label: 'its maximum', value: n('maximum'), allowed: true });
      }
    }
    if (is('array')) {
      if ((n('minItems') ?? 0) > 0) out.push({ kind: 'invalid value', label: `fewer than ${n('minItems')} items`, value: [] });
      if (n('maxItems') !== undefined && n('maxItems')! <= 50 && Array.isArray(current) && current.length > 0) {
        out.push({ kind: 'invalid value', label: `more than ${n('maxItems')} items`, value: Array.from({ length: n('maxItems')! + 1 }, () => current[0] as unknown) });
      }
      const items = b.items as JsonSchema | undefined;
      if (items && (Array.isArray(items.enum) || typeof items.pattern === 'string')) out.push({ kind: 'invalid value', label: 'an item not matching its schema', value: ['!! not valid !!'] });
    }
  }
  return out;
}

/**
 * Every way to break a valid body that its schema lets us name: each property given each
 * wrong JSON type and each value its constraints refuse, each required property dropped,
 * an unknown property added to each object; plus edge values the schema allows. Walks
 * nested objects; parents absent from `valid` are made.
 */
export function bodyMutations(schema: JsonSchema, valid: Record<string, unknown>): BodyMutation[] {
  const out: BodyMutation[] = [];
  const field = (path: string[]) => ['body', ...path].join('.');
  const visit = (s: JsonSchema, path: string[]) => {
    const props = s.properties as Record<string, JsonSchema> | undefined;
    const present = valueAt(valid, path);
    const isPresentObject = path.length === 0 || (present !== null && typeof present === 'object' && !Array.isArray(present));
    if (isPresentObject && props) {
      for (const name of (s.required as string[] | undefined) ?? []) {
        if (valueAt(valid, [...path, name]) !== undefined) out.push({ kind: 'missing field', label: `without ${field([...path, name])}`, body: without(valid, [...path, name]), field: field([...path, name]) });
      }
      out.push({ kind: 'unknown field', label: `${field(path)} with an unknown property`, body: withValue(valid, [...path, 'bogusField'], 1), field: 'bogusField' });
    }
    for (const [name, p] of Object.entries(props ?? {})) {
      const at = [...path, name];
      for (const bad of badValues(p, valueAt(valid, at))) {
        out.push({ kind: bad.kind, label: `${field(at)}: ${bad.label}`, body: withValue(valid, at, bad.value), field: field(at), ...(bad.allowed ? { allowed: true } : {}) });
      }
      if (p.type === 'object' && p.properties) visit(p, at);
    }
  };
  visit(schema, []);
  return out;
}
