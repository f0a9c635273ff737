import type { Pool } from 'pg';
import type { IdentityState, ValidationReads } from '../ports.js';

/**
 * The master-store reads of the seed's validation (role validation_reader: identity keys, patient
 * IDs and colors, never names or dates of birth). The consumer's package holds every SQL statement
 * against the master store; the load generator's validation reads through this.
 */
export class PgValidationReads implements ValidationReads {
  constructor(private readonly pool: Pool) {}

  async knownIdentities(keys: readonly Buffer[]): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest.identity WHERE id_key = ANY($1::bytea[])', [keys]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async stateByIdentityKeys(keys: readonly Buffer[]): Promise<IdentityState[]> {
    const r = await this.pool.query<{ id_key: Buffer; patient_id: string; favorite_color: string }>(
      `SELECT i.id_key, s.patient_id, s.favorite_color
         FROM ingest.identity i JOIN ingest.patient_state s ON s.patient_id = i.patient_id
        WHERE i.id_key = ANY($1::bytea[])`,
      [keys],
    );
    return r.rows.map((row) => ({ idKey: row.id_key, patientId: row.patient_id, favoriteColor: row.favorite_color }));
  }

  async currentColorsPage(afterPatientId: string, limit: number): Promise<{ patientId: string; favoriteColor: string }[]> {
    const r = await this.pool.query<{ patient_id: string; favorite_color: string }>(
      'SELECT patient_id, favorite_color FROM ingest.patient_state WHERE patient_id > $1 ORDER BY patient_id LIMIT $2',
      [afterPatientId, limit],
    );
    return r.rows.map((row) => ({ patientId: row.patient_id, favoriteColor: row.favorite_color }));
  }
}
