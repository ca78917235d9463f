"""The admin script's commands, one module per area; admin.py puts them together."""
