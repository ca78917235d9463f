"""Email: rendering from templates/ (jinja2) and delivery (local outbox; SendGrid in production)."""
