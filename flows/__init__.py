"""Prefect flows: thin orchestration over `pipeline.runner`'s steps. Deployment lives in `deploy/`."""
