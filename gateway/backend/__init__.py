"""Typed async client for the offsets REST API (CNaught v1)."""
