// Kysely type of the secrets table (migration 050).
import type { ColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SecretsTable {
  id: string;
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
  created_at: Stamp;
  updated_at: Stamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    secrets: SecretsTable;
  }
}
