"""The service API: a thin FastAPI layer over the Dagster instance, the core and the model registry.

It owns no state: reads come from the instance (materializations, runs, tags), writes go through Dagster
(gated remediation runs launched and terminated over the webserver's GraphQL API). ``make api`` serves it.
"""
