// Wire schemas of the tariff API: params, the version a user posts, and every response, used by
// the TypeBox type provider and by the OpenAPI document. The definition itself (periods, rates,
// charges) is TariffDefinition in tariff-cost.ts, the same schema the arithmetic is typed from.
import Type, { type Static } from 'typebox';
import { TariffDefinition } from './tariff-cost.ts';

// The protocol's strict calendar date: 2024-02-30 and year 0000 never reach SQL.
const DATE = Type.String({ format: 'date' });

export const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const TariffParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  tariffId: Type.String({ format: 'uuid' }),
});

export const TariffBody = Type.Object(
  {
    validFrom: Type.String({ format: 'date', description: 'First local day this version prices' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    definition: TariffDefinition,
  },
  { additionalProperties: false },
);
export type TariffBody = Static<typeof TariffBody>;

export const Tariff = Type.Object({
  id: Type.String({ format: 'uuid' }),
  siteId: Type.String({ format: 'uuid' }),
  validFrom: DATE,
  name: Type.Union([Type.String(), Type.Null()]),
  definition: TariffDefinition,
  createdAt: Type.String({ format: 'date-time' }),
});
export type Tariff = Static<typeof Tariff>;
export const TariffList = Type.Array(Tariff, { description: 'Versions by valid_from, oldest first' });

export const NoContent = Type.Null({ description: 'Deleted' });
