import assert from 'node:assert/strict';
import { roleAllows, type Access } from '../../src/api/auth';
import type { Role } from '../../src/db/repositories/organizations';

describe('role checks', () => {
  // rows: role; columns: access level required by an endpoint
  const table: Record<Role, Partial<Record<Access, boolean>>> = {
    admin: { viewer: true, operator: true, admin: true, ingest: true, platform: false },
    operator: { viewer: true, operator: true, admin: false, ingest: true, platform: false },
    viewer: { viewer: true, operator: false, admin: false, ingest: false, platform: false },
    ingest: { viewer: false, operator: false, admin: false, ingest: true, platform: false },
  };
  for (const [role, row] of Object.entries(table) as [Role, Partial<Record<Access, boolean>>][]) {
    for (const [access, allowed] of Object.entries(row) as [Access, boolean][]) {
      it(`${role} ${allowed ? 'may' : 'may not'} call ${access} endpoints`, () => assert.equal(roleAllows(role, access), allowed));
    }
  }
});
