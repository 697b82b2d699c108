-- Durable data: users, quizzes, finished results.
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    display_name TEXT    NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE quizzes (
    id         TEXT PRIMARY KEY,
    author_id  TEXT,
    title      TEXT    NOT NULL,
    demo       BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX quizzes_author ON quizzes (author_id);

CREATE TABLE questions (
    id             TEXT PRIMARY KEY,
    quiz_id        TEXT    NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    idx            BIGINT NOT NULL,
    prompt         TEXT    NOT NULL,
    choices        TEXT    NOT NULL, -- JSON array of strings
    correct_choice BIGINT NOT NULL,
    time_limit_ms  BIGINT NOT NULL,
    UNIQUE (quiz_id, idx)
);

CREATE TABLE results (
    code        TEXT PRIMARY KEY,
    quiz_id     TEXT    NOT NULL,
    quiz_title  TEXT    NOT NULL,
    host_id     TEXT    NOT NULL,
    finished_at BIGINT NOT NULL,
    players     BIGINT NOT NULL,
    question_count BIGINT NOT NULL,
    last_index  BIGINT
);

CREATE TABLE result_standings (
    code         TEXT    NOT NULL REFERENCES results (code) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    user_id      TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    rank         BIGINT NOT NULL,
    score        BIGINT NOT NULL,
    PRIMARY KEY (code, user_id)
);
CREATE INDEX result_standings_user ON result_standings (user_id);

CREATE TABLE result_answers (
    code           TEXT    NOT NULL REFERENCES results (code) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    user_id        TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    question_id    TEXT    NOT NULL,
    idx            BIGINT NOT NULL,
    choice         BIGINT NOT NULL,
    correct        BIGINT NOT NULL,
    awarded_points BIGINT NOT NULL,
    answer_ms      BIGINT NOT NULL,
    PRIMARY KEY (code, question_id, user_id)
);

-- Live sessions of the embedded backend: a journal written before each acknowledgement,
-- read back after a restart.
CREATE TABLE live_sessions (
    code         TEXT PRIMARY KEY,
    quiz_id      TEXT    NOT NULL,
    host_id      TEXT    NOT NULL,
    auto_advance BIGINT NOT NULL,
    max_players  BIGINT NOT NULL,
    epoch        BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    phase        TEXT    NOT NULL, -- JSON of the session clock
    finished_at  BIGINT
);

CREATE TABLE live_players (
    code         TEXT    NOT NULL REFERENCES live_sessions (code) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    join_seq     BIGINT NOT NULL,
    left_session BIGINT NOT NULL,
    PRIMARY KEY (code, user_id)
);

CREATE TABLE live_answers (
    code        TEXT    NOT NULL REFERENCES live_sessions (code) ON DELETE CASCADE,
    idx         BIGINT NOT NULL,
    user_id     TEXT    NOT NULL,
    choice      BIGINT NOT NULL,
    nonce       TEXT,
    answer_ms   BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    result      TEXT    NOT NULL, -- JSON of the reply first given
    PRIMARY KEY (code, idx, user_id)
);

CREATE TABLE live_log (
    code  TEXT    NOT NULL REFERENCES live_sessions (code) ON DELETE CASCADE,
    seq   BIGINT NOT NULL,
    event TEXT    NOT NULL,
    data  TEXT    NOT NULL,
    PRIMARY KEY (code, seq)
);
