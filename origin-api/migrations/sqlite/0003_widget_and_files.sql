-- How each site's chat widget looks and behaves, the key that verifies the identities its pages
-- vouch for, and files sent with messages.
ALTER TABLE sites ADD COLUMN color TEXT NOT NULL DEFAULT '#1f6feb';
ALTER TABLE sites ADD COLUMN position TEXT NOT NULL DEFAULT 'right';
ALTER TABLE sites ADD COLUMN offline_form INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sites ADD COLUMN languages TEXT NOT NULL DEFAULT '["zh-CN","en"]';
ALTER TABLE sites ADD COLUMN identity_secret TEXT;
ALTER TABLE messages ADD COLUMN attachment TEXT;  -- JSON of the file: id, name, size, type, width, height
