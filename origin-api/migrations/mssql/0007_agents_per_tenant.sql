-- An email is unique within a tenant, not across tenants: one tenant's new agent no longer
-- tells it that another tenant has someone with that email. Logins look agents up by email.
DECLARE @email_unique SYSNAME = (
    SELECT name FROM sys.key_constraints WHERE parent_object_id = OBJECT_ID('agents') AND type = 'UQ'
);
EXEC ('ALTER TABLE agents DROP CONSTRAINT ' + QUOTENAME(@email_unique));
ALTER TABLE agents ADD CONSTRAINT agents_by_tenant_email UNIQUE (tenant_id, email);
CREATE INDEX agents_by_email ON agents (email);
