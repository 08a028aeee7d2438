import type { Migration } from '../../../store/migrate.js';
import { type ColumnTypes, movementsIncomingSql, readSchemaSql } from '../read-models.js';

// Keys compare by code unit (COLLATE "C"), as in the store and in SQLite: pages by SKU come in
// the same order whichever database holds the read side.
const types: ColumnTypes = { key: 'text COLLATE "C"', text: 'text', int: 'bigint' };

export const postgresReadMigrations: readonly Migration[] = [
  { version: 1, name: 'read models', sql: readSchemaSql(types) },
  { version: 2, name: 'incoming on movements', sql: movementsIncomingSql(types) },
];
