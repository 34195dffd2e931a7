CREATE DATABASE app;
\c app
CREATE USER debezium WITH REPLICATION LOGIN PASSWORD 'dbz';
CREATE TABLE public.customers (
  id            serial PRIMARY KEY,
  email         text NOT NULL,
  password_hash text,
  balance       numeric(10,2) NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.orders (
  id          serial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers(id),
  amount      numeric(10,2) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.customers REPLICA IDENTITY FULL;
ALTER TABLE public.orders    REPLICA IDENTITY FULL;
GRANT USAGE ON SCHEMA public TO debezium;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO debezium;
-- pgoutput needs a publication; create it ourselves (publication.autocreate.mode=disabled) so debezium needs no table ownership
CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public.orders;
INSERT INTO customers(email, password_hash, balance) VALUES ('snap@example.com', 'secret-hash-0', 1234.50);
-- sink table for Flink JDBC upsert
CREATE TABLE public.customers_sink (
  id        int PRIMARY KEY,
  email     text,
  balance   numeric(10,2),
  op_ts     timestamptz
);
