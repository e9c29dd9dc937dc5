"""The ``/api/v1`` routers, one module per namespace of the client."""
