import type { Migration } from '../../../store/migrate.js';
import { type ColumnTypes, movementsIncomingSql, readSchemaSql } from '../read-models.js';

const types: ColumnTypes = { key: 'TEXT', text: 'TEXT', int: 'INTEGER' };

export const sqliteReadMigrations: readonly Migration[] = [
  { version: 1, name: 'read models', sql: readSchemaSql(types) },
  { version: 2, name: 'incoming on movements', sql: movementsIncomingSql(types) },
];
