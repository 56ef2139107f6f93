-- Audit log: every admin change and every login success or failure. Rows are never
-- updated; `seq` orders them and is the cursor of `idpctl audit tail`. The tenant is kept
-- by id and slug without a foreign key, so the trail outlives a deleted tenant.

CREATE TABLE idp_audit_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    tenant_id   BLOB,
    tenant      TEXT,                   -- slug at the time of the event
    actor       TEXT NOT NULL,          -- admin:<token name>, user:<id>, client:<id>, anonymous
    action      TEXT NOT NULL,          -- e.g. client.create, login.code
    target      TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason      TEXT,
    request_id  TEXT,
    client_ip   TEXT
);
CREATE INDEX idp_audit_events_tenant ON idp_audit_events (tenant, seq);
CREATE INDEX idp_audit_events_at ON idp_audit_events (at);
