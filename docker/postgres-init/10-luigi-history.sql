-- Run once by the official postgres image, on the first start with an empty data volume
-- (/docker-entrypoint-initdb.d). POSTGRES_DB (the DuckLake catalog) is created by the image itself;
-- this adds the database of luigid's task history (docker/luigid.cfg), owned by POSTGRES_USER.
CREATE DATABASE luigi_history;
