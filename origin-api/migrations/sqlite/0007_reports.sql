-- Reports read the conversations a tenant started within a span of days.
CREATE INDEX conversations_by_start ON conversations (tenant_id, started_at);
