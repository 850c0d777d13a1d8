"""HTTP hardening of the gateway: security settings, CSRF, body size, timeouts, CORS and log redaction."""
