-- An email is unique within a tenant, not across tenants: one tenant's new agent no longer
-- tells it that another tenant has someone with that email. Logins look agents up by email.
ALTER TABLE agents DROP INDEX email, ADD UNIQUE INDEX agents_by_tenant_email (tenant_id, email),
    ADD INDEX agents_by_email (email);
