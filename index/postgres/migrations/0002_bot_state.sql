-- 0002: the Telegram bot's state (bot/telegram/pgstate.py), shared by every bot process that
-- names this database, so that any of them can take any update and a restarted one loses
-- nothing. Times are the server's (now()), so processes on machines with skewed clocks agree
-- on what has expired (TANYA_TELEGRAM_CONVERSATION_HOURS).

-- The recent turns of each chat, read to resolve follow-up questions.
CREATE TABLE bot_turns(
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    question text NOT NULL,
    answer text NOT NULL);
CREATE INDEX bot_turns_chat ON bot_turns(chat_id, id);
CREATE INDEX bot_turns_at ON bot_turns(at);

-- What the Sources and More buttons of one answer show; `key` is in their callback data.
CREATE TABLE bot_answers(
    key text PRIMARY KEY,
    id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    chat_id bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    kept jsonb NOT NULL);
CREATE INDEX bot_answers_chat ON bot_answers(chat_id, id);
CREATE INDEX bot_answers_at ON bot_answers(at);

-- Each user's question counter: taking the next number locks the user's row, so two
-- processes accepting the same user's questions at once number them one after the other.
CREATE TABLE bot_askers(
    user_id bigint PRIMARY KEY,
    last_seq bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now());

-- The questions accepted and not yet answered, with the connection (pid and start, as in
-- pg_stat_activity) of the process that holds them: a question whose process has gone no
-- longer holds back the user's later ones. A row is deleted when its question is answered.
CREATE TABLE bot_questions(
    user_id bigint NOT NULL,
    seq bigint NOT NULL,
    chat_id bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    owner_pid integer NOT NULL,
    owner_start timestamptz NOT NULL,
    PRIMARY KEY (user_id, seq));
CREATE INDEX bot_questions_at ON bot_questions(at);
