import { describe, expect, it } from 'vitest';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

describe.each(pgTargets())('migrations apply on $name', (target) => {
  it('up creates the Phase 1 tables', async () => {
    const db = await freshDatabase(target);
    try {
      await migrator(db.url).up();
      const c = await connect(db.url);
      const { rows } = await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
      await c.end();
      expect(rows.map((r) => r.tablename)).toEqual(['projects', 'recording_edits', 'recording_sessions', 'recordings', 'schema_migrations', 'users']);
    } finally {
      await db.drop();
    }
  });
});
