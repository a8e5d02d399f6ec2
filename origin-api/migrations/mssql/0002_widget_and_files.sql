-- How each site's chat widget looks and behaves, the key that verifies the identities its pages
-- vouch for, and files sent with messages.
ALTER TABLE sites ADD
    color NVARCHAR(7) NOT NULL CONSTRAINT sites_color_default DEFAULT '#1f6feb',
    position NVARCHAR(8) NOT NULL CONSTRAINT sites_position_default DEFAULT 'right',
    offline_form SMALLINT NOT NULL CONSTRAINT sites_offline_form_default DEFAULT 1,
    languages NVARCHAR(255) NOT NULL CONSTRAINT sites_languages_default DEFAULT '["zh-CN","en"]',
    identity_secret NVARCHAR(128) NULL;
ALTER TABLE messages ADD attachment NVARCHAR(MAX) NULL;
