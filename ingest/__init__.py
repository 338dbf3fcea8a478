"""Ingestion: every door (MQTT, HTTP, CSV files) into one validate → authorize → COPY path."""
