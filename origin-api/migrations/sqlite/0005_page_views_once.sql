-- A page view stored again (a batch retried after its commit's answer was lost) is not a second
-- one: its key (a hash of tenant, visitor, time and address) is unique. Older rows have none.
ALTER TABLE page_views ADD COLUMN view_key TEXT;
CREATE UNIQUE INDEX page_views_once ON page_views (view_key);
