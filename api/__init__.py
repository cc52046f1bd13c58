"""The HTTP API: thin routers that validate, authorise, call a service and map errors to problem responses."""
