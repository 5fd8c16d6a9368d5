"""Django's PostgreSQL backend with a deadline the client keeps and a breaker (see
:mod:`foodiefast.db.base`); settings name it as ``ENGINE = "foodiefast.db"``."""
