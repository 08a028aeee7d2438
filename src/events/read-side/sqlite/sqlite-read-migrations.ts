import type { Migration } from '../../../store/migrate.js';
import { readSchemaSql } from '../read-models.js';

export const sqliteReadMigrations: readonly Migration[] = [
  { version: 1, name: 'read models', sql: readSchemaSql({ key: 'TEXT', text: 'TEXT', int: 'INTEGER' }) },
];
