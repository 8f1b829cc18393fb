"""The HTTP service: FastAPI routers over the same service functions as the CLI, and the web console."""
