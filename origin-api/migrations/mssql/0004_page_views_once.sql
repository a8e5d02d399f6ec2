-- A page view stored again (a batch retried after its commit's answer was lost) is not a second
-- one: its key (a hash of tenant, visitor, time and address) is unique. Older rows have none
-- (hence the filter: SQL Server's unique indexes count NULL as a value). The index is made in a
-- statement of its own, compiled after the column exists.
ALTER TABLE page_views ADD view_key NCHAR(32) NULL;
EXEC ('CREATE UNIQUE INDEX page_views_once ON page_views (view_key) WHERE view_key IS NOT NULL');
