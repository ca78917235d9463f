"""Chat integrations: escalations and staff tasks as Slack messages and Teams cards."""
