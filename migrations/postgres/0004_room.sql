-- A game a room can trust: when players learn how they did, a lobby the host can lock,
-- and players the host removed (who may not come back).
ALTER TABLE live_sessions ADD COLUMN feedback TEXT NOT NULL DEFAULT 'instant';
ALTER TABLE live_sessions ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE live_players ADD COLUMN removed BIGINT NOT NULL DEFAULT 0;
