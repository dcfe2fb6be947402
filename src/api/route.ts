/**
 * One definition per endpoint: the same zod schemas validate the request and document it in the OpenAPI
 * document served at GET /v1/openapi.json.
 */
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z, type ZodType } from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../lib/errors';
import { authenticate, CredentialLookups, KeyUsage, type Access } from './auth';
import { zodProblems } from './problem';
import type { ApiDeps } from './deps';
import { callerRateLimit } from './rateLimit';
import { componentLogger } from '../lib/logger';
import { unsafeInputProblems } from './unsafeInput';

extendZodWithOpenApi(z);

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

type Method = 'get' | 'post' | 'put' | 'delete';

export interface RouteDefinition<B extends ZodType, Q extends ZodType, P extends ZodType> {
  method: Method;
  /** Express-style path, e.g. /v1/mailboxes/:email */
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  /** Largest JSON body accepted (body-parser syntax); default 100kb. Larger → 413. */
  bodyLimit?: string;
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, { description: string; schema?: ZodType }>;
  handler: (ctx: { body: z.infer<B>; query: z.infer<Q>; params: z.infer<P>; req: Request; res: Response; deps: ApiDeps }) => Promise<void> | void;
  /**
   * Called when the request is refused with a 422 before the handler runs (unsafe strings or nesting, a part the
   * schema rejects), after authentication: ingestion routes audit the rejected payload here. The 422 is answered
   * whatever it does.
   */
  rejected?: (ctx: { error: ValidationError; res: Response; deps: ApiDeps }) => Promise<unknown>;
}

function parsePart<T extends ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (schema === undefined) return undefined as z.infer<T>;
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(`The request ${where} has invalid fields.`, zodProblems(result.error, where === 'body' ? '' : where));
  return result.data;
}

/** Strings Postgres cannot store and too-deep nesting, refused (422) before any schema sees the part. */
function refuseUnsafe(part: unknown, where: string): void {
  const problems = unsafeInputProblems(part, where === 'body' ? '' : where);
  if (problems.length > 0) throw new ValidationError(`The request ${where} has values that cannot be accepted.`, problems);
}

const log = componentLogger('api');

const JSON_TYPES = ['application/json', 'application/*+json'];

/** A body in another format than JSON is refused as such (415), rather than parsed as nothing and found invalid. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  // req.is: null without a body, false when the body's type is not one of these.
  if (req.is(JSON_TYPES) === false) {
    next(new UnsupportedMediaTypeError('This endpoint takes a JSON body: send it with Content-Type: application/json.'));
    return;
  }
  next();
};

const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

const DEFAULT_BODY_LIMIT = '100kb';

export class Routes {
  readonly registry = new OpenAPIRegistry();
  /** Every endpoint and who may call it (tests walk this to check every route's access). */
  readonly definitions: { method: Method; path: string; access: Access }[] = [];
  private readonly usage = new KeyUsage();
  private readonly lookups = new CredentialLookups();
  private readonly rateLimit: RequestHandler;
  private readonly jsonParsers = new Map<string, RequestHandler>();

  constructor(
    private readonly router: Router,
    private readonly deps: ApiDeps,
  ) {
    this.registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
    this.rateLimit = callerRateLimit(deps.rateLimits);
  }

  /** Bodies are parsed per route, after authentication, so each route has its own size limit. */
  private jsonParser(limit: string): RequestHandler {
    let parser = this.jsonParsers.get(limit);
    if (parser === undefined) {
      // Not strict: null, 42 or "text" are valid JSON (a 422 from the schema), not malformed JSON (400).
      parser = express.json({ limit, type: JSON_TYPES, strict: false });
      this.jsonParsers.set(limit, parser);
    }
    return parser;
  }

  add<B extends ZodType = ZodType<undefined>, Q extends ZodType = ZodType<undefined>, P extends ZodType = ZodType<undefined>>(
    def: RouteDefinition<B, Q, P>,
  ): void {
    const responses: Record<string, { description: string; content?: Record<string, { schema: ZodType }> }> = {};
    for (const [status, r] of Object.entries(def.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema === undefined ? {} : { content: { 'application/json': { schema: r.schema } } }),
      };
    }
    responses.default = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: ProblemSchema } } };
    this.registry.registerPath({
      method: def.method,
      path: openApiPath(def.path),
      summary: def.summary,
      tags: def.tags,
      ...(def.access === 'public' || def.access === 'webhook' ? {} : { security: [{ bearer: [] }] }),
      description: `Access: ${def.access}.`,
      'x-drason-access': def.access,
      request: {
        ...(def.body === undefined ? {} : { body: { content: { 'application/json': { schema: def.body } } } }),
        ...(def.query === undefined ? {} : { query: def.query as never }),
        ...(def.params === undefined ? {} : { params: def.params as never }),
      },
      responses,
    });
    this.definitions.push({ method: def.method, path: def.path, access: def.access });
    const parse = def.body === undefined ? [] : [requireJsonBody, this.jsonParser(def.bodyLimit ?? DEFAULT_BODY_LIMIT)];
    this.router[def.method](def.path, authenticate(this.deps, def.access, this.usage, this.lookups), this.rateLimit, ...parse, async (req, res) => {
      let parts: { body: z.infer<B>; query: z.infer<Q>; params: z.infer<P> };
      try {
        if (def.params !== undefined) refuseUnsafe(req.params, 'path');
        if (def.query !== undefined) refuseUnsafe(req.query, 'query');
        if (def.body !== undefined) refuseUnsafe(req.body, 'body');
        parts = { params: parsePart(def.params, req.params, 'path'), query: parsePart(def.query, req.query, 'query'), body: parsePart(def.body, req.body, 'body') };
      } catch (error) {
        if (error instanceof ValidationError && def.rejected !== undefined) {
          await def.rejected({ error, res, deps: this.deps }).catch((e: unknown) => log.warn(`could not record a rejected ${def.method.toUpperCase()} ${def.path}`, { error: String(e) }));
        }
        throw error;
      }
      await def.handler({ ...parts, req, res, deps: this.deps });
    });
  }

  document(): unknown {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Drason API',
        version: '1.0.0',
        description: 'Outbound-email control plane between Clay and Smartlead. Errors are application/problem+json.',
      },
      servers: [{ url: '/' }],
    });
  }
}
