"""Deployment helpers: the container image's requirements (the rest of deploy/ is shell and config)."""
