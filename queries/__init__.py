"""The read model: every question a page, a route or an export asks, answered once, scoped."""
