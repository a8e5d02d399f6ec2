-- Access tokens name the generation they were issued in; a new password, a new role, disabling
-- and "log out everywhere" start a new one, and older tokens are refused at once.
ALTER TABLE agents ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
