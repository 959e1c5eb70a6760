-- A counter that every change able to alter the outcome of a SCIM
-- request's authentication increments (see the SQLite migration
-- 0006_auth_epoch.sql for the reasoning). Statement-level triggers: one
-- increment per statement, whatever the number of rows. Replicas read it on
-- every request, so a key revoked through one replica is refused by every
-- other from the next request on.
CREATE TABLE auth_epoch (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	n   BIGINT NOT NULL
);
INSERT INTO auth_epoch (one, n) VALUES (1, 0);

CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE auth_epoch SET n = n + 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_auth_update AFTER UPDATE OF org_id, name, secret_hash, users_priv, groups_priv, expires, revoked ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER directory_keys_auth AFTER INSERT OR DELETE ON directory_keys
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER directories_auth AFTER UPDATE OR DELETE ON directories
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER oauth_clients_auth AFTER UPDATE OR DELETE ON oauth_clients
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER organizations_auth AFTER UPDATE OR DELETE ON organizations
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
-- roster copy empties the tables with TRUNCATE, which fires no DELETE
-- trigger: servers already running on the database must not keep
-- answering from what they verified before.
CREATE TRIGGER api_keys_auth_truncate AFTER TRUNCATE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER directory_keys_auth_truncate AFTER TRUNCATE ON directory_keys
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER directories_auth_truncate AFTER TRUNCATE ON directories
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER oauth_clients_auth_truncate AFTER TRUNCATE ON oauth_clients
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER organizations_auth_truncate AFTER TRUNCATE ON organizations
	FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
