-- Session cookie names are unique across tenants (SEC-19): tenants on one host must never
-- share a cookie. Names are compared as the browser may see them: without one `__Host-` or
-- `__Secure-` prefix (an http deployment drops it) and in lower case. The expression must
-- stay equal to `cookie_key` in idpd/src/domain/tenants.rs and to the PostgreSQL migration
-- of the same number.
--
-- Tenants that already share a name keep it on the oldest (smallest id, UUIDv7) tenant; the
-- others go back to their default name, which holds their own id.
UPDATE idp_tenants
SET cookie_name = CASE WHEN cookie_domain IS NULL THEN '__Host-idp-' ELSE '__Secure-idp-' END
    || lower(hex(id))
WHERE EXISTS (
    SELECT 1 FROM idp_tenants o
    WHERE o.id < idp_tenants.id
      AND (CASE
               WHEN lower(substr(o.cookie_name, 1, 7)) = '__host-' THEN lower(substr(o.cookie_name, 8))
               WHEN lower(substr(o.cookie_name, 1, 9)) = '__secure-' THEN lower(substr(o.cookie_name, 10))
               ELSE lower(o.cookie_name)
           END)
        = (CASE
               WHEN lower(substr(idp_tenants.cookie_name, 1, 7)) = '__host-' THEN lower(substr(idp_tenants.cookie_name, 8))
               WHEN lower(substr(idp_tenants.cookie_name, 1, 9)) = '__secure-' THEN lower(substr(idp_tenants.cookie_name, 10))
               ELSE lower(idp_tenants.cookie_name)
           END)
);

CREATE UNIQUE INDEX idp_tenants_cookie_key ON idp_tenants ((
    CASE
        WHEN lower(substr(cookie_name, 1, 7)) = '__host-' THEN lower(substr(cookie_name, 8))
        WHEN lower(substr(cookie_name, 1, 9)) = '__secure-' THEN lower(substr(cookie_name, 10))
        ELSE lower(cookie_name)
    END
));
