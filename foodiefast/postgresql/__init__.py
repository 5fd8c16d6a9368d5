"""Django's PostgreSQL backend with a deadline the client keeps and a breaker (see
:mod:`foodiefast.postgresql.base`); settings name it as ``ENGINE = "foodiefast.postgresql"``.
The name says PostgreSQL on purpose: tools pick their SQL dialect from ``ENGINE``
(django-migration-linter does)."""
