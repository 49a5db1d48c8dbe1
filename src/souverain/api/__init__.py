"""HTTP interface: thin routers that validate, call a service and return."""
