-- Change feed (see the PostgreSQL migration of the same number): one process owns a SQLite
-- file, so its writes announce themselves in memory and nothing is stored. This migration
-- keeps the two folders' versions equal.
SELECT 1;
