-- How each site's chat widget looks and behaves, the key that verifies the identities its pages
-- vouch for, and files sent with messages.
ALTER TABLE sites
    ADD COLUMN color VARCHAR(7) NOT NULL DEFAULT '#1f6feb',
    ADD COLUMN position VARCHAR(8) NOT NULL DEFAULT 'right',
    ADD COLUMN offline_form SMALLINT NOT NULL DEFAULT 1,
    ADD COLUMN languages VARCHAR(255) NOT NULL DEFAULT '["zh-CN","en"]',
    ADD COLUMN identity_secret VARCHAR(128);
ALTER TABLE messages ADD COLUMN attachment TEXT;
