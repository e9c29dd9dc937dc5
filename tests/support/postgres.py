"""PostgreSQL on loopback for the tests and benchmarks: one statement, autocommitted, as user ``postgres``."""

from __future__ import annotations


def admin(sql: str, *, db: str = "postgres", host: str = "127.0.0.1", port: int = 5432) -> None:
    """Run ``sql`` on database ``db`` (``CREATE DATABASE``, ``DROP DATABASE ... WITH (FORCE)``, ``ANALYZE``)."""
    import psycopg2

    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname=db, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
