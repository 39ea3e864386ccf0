"""HTTP service (FastAPI + Strawberry GraphQL), settings and the command line."""
