"""The hybrid SDK: explanation cache, opt-in telemetry and the cloud client."""
