-- Run once by the postgres image, on the first start with an empty data volume
-- (deploy/compose.yml): the database of Rasa's tracker store, beside the shop database
-- (POSTGRES_DB=shop), owned by the same role. Rasa creates its `events` table.
CREATE DATABASE rasa_tracker OWNER shop;
