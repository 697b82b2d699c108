-- The questions as each finished session played them (JSON array), so results show words.
-- Results stored before this have none.
ALTER TABLE results ADD COLUMN questions TEXT NOT NULL DEFAULT '[]';
