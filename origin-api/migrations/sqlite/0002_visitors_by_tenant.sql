-- Exports page through a tenant's visitors by id.
CREATE INDEX visitors_by_tenant ON visitors (tenant_id, id);
