-- Change feed of the configuration idpd instances keep in memory (clients, tenants with
-- their default identity provider, signing keys): every committed change is announced on
-- channel `idp_changes`, and each instance forgets what changed (store/changes.rs).
-- NOTIFY is transactional: delivered at commit, never for a rolled-back change.
-- Payloads: `client:{tenant_id}:{client_id}`, `tenant:{tenant_id}`, `keys:{tenant_id}`.

CREATE FUNCTION idp_notify_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('idp_changes', 'client:' || OLD.tenant_id || ':' || OLD.client_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('idp_changes', 'client:' || NEW.tenant_id || ':' || NEW.client_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION idp_notify_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('idp_changes', 'tenant:' || OLD.id);
    ELSE
        PERFORM pg_notify('idp_changes', 'tenant:' || NEW.id);
    END IF;
    RETURN NULL;
END $$;

-- Rows that belong to a tenant (keys, identity providers): announced under `$1` (`keys`
-- or `tenant`).
CREATE FUNCTION idp_notify_tenant_part() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('idp_changes', TG_ARGV[0] || ':' || OLD.tenant_id);
    ELSE
        PERFORM pg_notify('idp_changes', TG_ARGV[0] || ':' || NEW.tenant_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER idp_clients_changed AFTER INSERT OR UPDATE OR DELETE ON idp_clients
    FOR EACH ROW EXECUTE FUNCTION idp_notify_client();
CREATE TRIGGER idp_tenants_changed AFTER INSERT OR UPDATE OR DELETE ON idp_tenants
    FOR EACH ROW EXECUTE FUNCTION idp_notify_tenant();
CREATE TRIGGER idp_signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON idp_signing_keys
    FOR EACH ROW EXECUTE FUNCTION idp_notify_tenant_part('keys');
CREATE TRIGGER idp_identity_providers_changed AFTER INSERT OR UPDATE OR DELETE ON idp_identity_providers
    FOR EACH ROW EXECUTE FUNCTION idp_notify_tenant_part('tenant');
