import type { ReconciliationReport, ReportStore, ReportSummary } from './port.js';
import type { KeyDatabase } from './sql-keys.js';

// Reconciliation reports (count-sheet imports, verify runs), with the same SQL on every dialect
// through the small-table database the API keys use: a report is written once and read whole.

interface ReportRow {
  id: string;
  kind: string;
  created_at: number | string;
  actor: string;
  findings: number | string;
  summary: string;
  body?: string;
}

function summaryFromRow(row: ReportRow): ReportSummary {
  return {
    id: row.id,
    kind: row.kind as ReportSummary['kind'],
    createdAt: Number(row.created_at),
    actor: row.actor,
    findings: Number(row.findings),
    summary: row.summary,
  };
}

const summaryColumns = 'id, kind, created_at, actor, findings, summary';

export class SqlReports implements ReportStore {
  private readonly db: KeyDatabase;

  constructor(db: KeyDatabase) {
    this.db = db;
  }

  async saveReport(report: ReconciliationReport): Promise<void> {
    const sql = `INSERT INTO reconciliation_reports (${summaryColumns}, body) VALUES (?, ?, ?, ?, ?, ?, ?)`;
    const params = [
      report.id,
      report.kind,
      report.createdAt,
      report.actor,
      report.findings,
      report.summary,
      JSON.stringify(report.body),
    ];
    await this.db.transaction((tx) => tx.run(sql, params));
  }

  async getReport(id: string): Promise<ReconciliationReport | undefined> {
    const [row] = await this.db.rows<ReportRow>(
      `SELECT ${summaryColumns}, body FROM reconciliation_reports WHERE id = ?`,
      [id],
    );
    return row === undefined ? undefined : { ...summaryFromRow(row), body: JSON.parse(row.body ?? 'null') };
  }

  async listReports(beforeId: string | undefined, limit: number): Promise<ReportSummary[]> {
    // Ids begin with their creation time, so id order is time order (see reportId).
    const rows =
      beforeId === undefined
        ? await this.db.rows<ReportRow>(
            `SELECT ${summaryColumns} FROM reconciliation_reports ORDER BY id DESC LIMIT ?`,
            [limit],
          )
        : await this.db.rows<ReportRow>(
            `SELECT ${summaryColumns} FROM reconciliation_reports WHERE id < ? ORDER BY id DESC LIMIT ?`,
            [beforeId, limit],
          );
    return rows.map(summaryFromRow);
  }
}
