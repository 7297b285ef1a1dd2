// Analytics routes: thin, typed by the TypeBox provider from analytics.schema.ts (params, query and
// every response). Access checks, range rules and the figures are in analytics.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  Comparison,
  ComparisonQuery,
  CompletenessList,
  DataQualityReport,
  DayList,
  DayRange,
  FleetQuery,
  FleetTotals,
  MonthList,
  MonthRange,
  NodeParams,
  OrgParams,
  ReconciliationList,
  SiteParams,
} from './analytics.schema.ts';
import type { AnalyticsService } from './analytics.service.ts';

const tags = ['analytics'];

export const analyticsRoutes =
  (service: AnalyticsService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:id/daily',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          querystring: DayRange,
          response: { 200: DayList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.daily(actorOf(request), request.params.id, request.query.from, request.query.to),
    );

    app.get(
      '/sites/:id/monthly',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          querystring: MonthRange,
          response: { 200: MonthList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.monthly(actorOf(request), request.params.id, request.query.from, request.query.to),
    );

    app.get(
      '/sites/:id/comparison',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          querystring: ComparisonQuery,
          response: { 200: Comparison, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.comparison(actorOf(request), request.params.id, request.query),
    );

    app.get(
      '/installers/:org/fleet',
      {
        ...auth,
        schema: {
          tags,
          params: OrgParams,
          querystring: FleetQuery,
          response: { 200: FleetTotals, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.fleet(actorOf(request), request.params.org, request.query),
    );

    app.get(
      '/nodes/:id/completeness',
      {
        ...auth,
        schema: {
          tags,
          params: NodeParams,
          querystring: DayRange,
          response: { 200: CompletenessList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.completeness(actorOf(request), request.params.id, request.query.from, request.query.to),
    );

    app.get(
      '/nodes/:id/data-quality',
      {
        ...auth,
        schema: {
          tags,
          summary: "Data-quality findings of a node against its equipment's data contracts",
          params: NodeParams,
          response: { 200: DataQualityReport, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.dataQuality(actorOf(request), request.params.id),
    );

    app.get(
      '/sites/:id/reconciliation',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          querystring: DayRange,
          response: { 200: ReconciliationList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.reconciliation(actorOf(request), request.params.id, request.query.from, request.query.to),
    );
  };
