"""An offline, faithful stand-in for the offsets REST API (CNaught v1)."""
