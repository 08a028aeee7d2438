import type { FastifyInstance } from 'fastify';
import { domainError } from '../../domain/index.js';
import { importCountSheet } from '../../events/reconciliation/count-import.js';
import {
  CountSheetError,
  countSheetLinesMax,
  readCsvSheet,
  readJsonSheet,
  sheetIdPattern,
} from '../../events/reconciliation/count-sheet.js';
import { reportsListedMax } from '../../events/reconciliation/reports.js';
import { actorOf } from '../auth.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import {
  codeSchema,
  idSchema,
  nextKey,
  nextKeySchema,
  objectSchema,
  occurredAtSchema,
  problemResponses,
  type Schema,
  textSchema,
} from '../schemas.js';

// Physical count sheets (POST /v1/counts/sheets, as CSV or JSON lines) and the reconciliation
// reports they and the verify runs leave (GET /v1/reconciliation/reports).

const summaryProperties = {
  id: idSchema,
  kind: { type: 'string', enum: ['count-sheet', 'verify'] },
  createdAt: { type: 'integer' },
  actor: { type: 'string' },
  findings: { type: 'integer', description: 'Discrepancies and refused lines of a sheet; mismatches of a verify run' },
  summary: { type: 'string' },
} as const;
const summarySchema = objectSchema(summaryProperties, Object.keys(summaryProperties));
const reportSchema = objectSchema(
  { ...summaryProperties, body: { description: "The report as its kind defines it: a sheet's counts, or verify's" } },
  [...Object.keys(summaryProperties), 'body'],
);

const sheetLine = objectSchema(
  {
    sku: codeSchema,
    location: codeSchema,
    counted: { type: 'integer', minimum: 0 },
    reason: textSchema,
    occurredAt: occurredAtSchema,
  },
  ['sku', 'location', 'counted'],
);

const sheetBody: Schema = {
  content: {
    'text/csv': {
      schema: {
        type: 'string',
        description: 'A header row, then a line per count: sku,location,counted[,reason][,occurredAt]',
      },
    },
    'application/json': {
      schema: objectSchema({ lines: { type: 'array', maxItems: countSheetLinesMax, items: sheetLine } }, ['lines']),
    },
  },
};

const sheetQuery = objectSchema({
  sheet: {
    type: 'string',
    pattern: sheetIdPattern.source,
    description: "The sheet's id (default: a hash of its content); each line's command id is count:<sheet>:<line>",
  },
});

export async function reconciliationRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { runtime } = context;
  const { store } = runtime;
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/counts/sheets',
    {
      schema: {
        tags: ['reconciliation'],
        summary: 'Import a physical count sheet (CountStock per line)',
        description:
          'Each good line becomes CountStock `count:<sheet>:<line>` with the line reason, or `count sheet <sheet> line <n>`; ' +
          'a bad line is refused and changes nothing. Importing the same sheet again changes nothing. The report ' +
          '(discrepancies: expected against counted; refused lines) is recorded and answered.',
        querystring: sheetQuery,
        body: sheetBody,
        response: { 201: reportSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { sheet: sheetId } = request.query as { sheet?: string };
      let sheet: ReturnType<typeof readCsvSheet>;
      try {
        sheet =
          typeof request.body === 'string'
            ? readCsvSheet(request.body, sheetId)
            : readJsonSheet((request.body as { lines: Record<string, unknown>[] }).lines, sheetId);
      } catch (error) {
        if (!(error instanceof CountSheetError)) throw error;
        return sendProblem(request, reply, domainError('VALIDATION_FAILED', error.message));
      }
      const { report } = await importCountSheet(
        { executor: runtime.engine, store },
        sheet,
        actorOf(request),
        Date.now(),
      );
      return reply.code(201).header('location', `/v1/reconciliation/reports/${report.id}`).send(report);
    },
  );

  app.get(
    '/v1/reconciliation/reports',
    {
      schema: {
        tags: ['reconciliation'],
        summary: 'Reconciliation reports, newest first: count sheets and verify runs',
        querystring: objectSchema({
          before: { ...idSchema, description: 'The `next` of the previous page' },
          limit: { type: 'integer', minimum: 1, maximum: reportsListedMax, default: 20 },
        }),
        response: {
          200: objectSchema({ reports: { type: 'array', items: summarySchema }, next: nextKeySchema }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { before, limit } = request.query as { before?: string; limit: number };
      const reports = await store.reports.listReports(before, limit);
      return { reports, next: nextKey(reports, limit, (report) => report.id) };
    },
  );

  app.get(
    '/v1/reconciliation/reports/:id',
    {
      schema: {
        tags: ['reconciliation'],
        summary: 'One reconciliation report in full',
        params: objectSchema({ id: idSchema }, ['id']),
        response: { 200: reportSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const report = await store.reports.getReport(id);
      if (report === undefined)
        return sendProblem(request, reply, domainError('NOT_FOUND', `report ${id} does not exist`, { id }));
      return report;
    },
  );
}
