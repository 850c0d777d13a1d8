"""What operators see of a running gateway: OpenTelemetry traces (`tracing`), log lines (`logs`, `access`)
and the per-operation record both are written from (`operations`)."""
