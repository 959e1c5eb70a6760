-- Admin revocation: a leaked admin token must be taken out of use without
-- deleting the admin, so the list keeps showing who had access.

ALTER TABLE admins ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
-- An organization's admins, for listing and revoking.
CREATE INDEX admins_org ON admins(org_id);
