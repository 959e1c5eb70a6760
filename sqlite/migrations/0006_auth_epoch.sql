-- A counter that every change able to alter the outcome of a SCIM
-- request's authentication increments: a key revoked, expired, re-scoped or
-- deleted, a directory's keys, profile or settings changed, a directory,
-- OAuth client or organization changed or deleted. The server caches what
-- it verified together with the counter it read first, and checks the
-- counter (one primary-key read) on every request, so a revocation made by
-- any process or replica applies from the next request on. Triggers rather
-- than code in each admin method, so that no path that writes these tables
-- can forget it. Issuing OAuth access tokens and recording a key's
-- last_used do not count: a new token adds no cached entry, and expiry is
-- checked against the clock on every request.
CREATE TABLE auth_epoch (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	n   INTEGER NOT NULL
);
INSERT INTO auth_epoch (one, n) VALUES (1, 0);

CREATE TRIGGER api_keys_auth_update AFTER UPDATE OF org_id, name, secret_hash, users_priv, groups_priv, expires, revoked ON api_keys
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER directory_keys_auth_insert AFTER INSERT ON directory_keys
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER directory_keys_auth_delete AFTER DELETE ON directory_keys
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER directories_auth_update AFTER UPDATE ON directories
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER directories_auth_delete AFTER DELETE ON directories
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER oauth_clients_auth_update AFTER UPDATE ON oauth_clients
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER oauth_clients_auth_delete AFTER DELETE ON oauth_clients
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER organizations_auth_update AFTER UPDATE ON organizations
BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER organizations_auth_delete AFTER DELETE ON organizations
BEGIN UPDATE auth_epoch SET n = n + 1; END;
