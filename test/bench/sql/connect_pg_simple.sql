-- connect-pg-simple (the PostgreSQL store of express-session), emulated: the
-- table from its table.sql.  Its statements are in ../pgbench/*_cps.sql:
-- set = INSERT ... ON CONFLICT (sid) DO UPDATE, touch = UPDATE ... SET expire,
-- destroy = DELETE, prune = DELETE ... WHERE expire < ?.  It has no listing
-- by user: a user's sessions are found by reading the user out of sess.

CREATE TABLE "session" (
	"sid" varchar NOT NULL COLLATE "default",
	"sess" json NOT NULL,
	"expire" timestamp(6) NOT NULL
);

ALTER TABLE "session" ADD CONSTRAINT "session_pkey" PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE;

CREATE INDEX "IDX_session_expire" ON "session" ("expire");
